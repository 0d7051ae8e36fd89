"""docs/architecture.md's layout table is the map a newcomer reads first: every folder of the repository is on it."""

from __future__ import annotations

import re
import subprocess

from tests.helpers.handlers import REPO

ARCHITECTURE = REPO / "docs" / "architecture.md"


def mapped_paths() -> list[str]:
    """The paths named in the first column of the Layout table (`functions/<name>/...` stands for every function)."""
    text = ARCHITECTURE.read_text()
    table = text[text.index("## Layout") :].split("\n\n")[1]
    paths = []
    for row in table.splitlines()[2:]:
        first_column = row.split("|")[1]
        paths += [path.rstrip("/") for path in re.findall(r"`([^`]+)`", first_column)]
    return paths


def tracked_folders() -> set[str]:
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    return {"/".join(file.split("/")[:depth]) for file in files for depth in range(1, file.count("/") + 1)}


def on_the_map(folder: str, paths: list[str]) -> bool:
    """A folder is on the map when a row names it, something inside it, or a folder above it."""
    for path in paths:
        parts = path.split("/")
        patterns = [re.escape("/".join(parts[:depth])).replace("<name>", "[^/]+") for depth in range(1, len(parts) + 1)]
        if any(re.fullmatch(pattern, folder) for pattern in patterns) or re.match(patterns[-1] + "/", folder):
            return True
    return False


def test_every_folder_of_the_repository_is_on_the_map():
    paths = mapped_paths()
    assert len(paths) > 20, "the Layout table was not found"
    assert sorted(folder for folder in tracked_folders() if not on_the_map(folder, paths)) == []


def test_a_folder_missing_from_the_map_is_found():
    assert not on_the_map("stack/new_plugin", mapped_paths())
    assert on_the_map("functions/get_balance", mapped_paths()) and on_the_map("terraform/modules/api", mapped_paths())
