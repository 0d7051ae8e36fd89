"""`make dev`'s mirror (stack/hot_reload.py): each function's hot-reload folder holds exactly what its zip and the
layer's lib/ packages hold, follows every save, and is changed file by file, never replaced (a container's bind
mount stays on the folder it was given). No stack needed."""

from __future__ import annotations

import os
import shutil
import sys
import threading
from pathlib import Path

import pytest

from tests.helpers.stack import wait_for

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "stack"))

import hot_reload  # noqa: E402


@pytest.fixture
def sources(tmp_path) -> tuple[Path, Path, Path]:
    """A copy of functions/ and lib/ (with a module beside a handler, a test file and a cache that must not be
    mirrored), and an out folder."""
    functions, lib = tmp_path / "functions", tmp_path / "lib"
    shutil.copytree(REPO / "functions", functions, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "lib", lib, ignore=shutil.ignore_patterns("__pycache__"))
    (functions / "salary_files" / "helpers.py").write_text("SEPARATOR = '|'\n")
    (functions / "get_balance" / "test_handler.py").write_text("def test(): pass\n")
    (lib / "payproc" / "__pycache__").mkdir()
    (lib / "payproc" / "__pycache__" / "money.cpython-313.pyc").write_bytes(b"\0")
    return functions, lib, tmp_path / "out"


def files_under(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_each_function_gets_its_code_with_lib_packages_beside_it(sources):
    functions, lib, out = sources
    old_umask = os.umask(0o077)  # what a private umask would give: unreadable in a container
    try:
        hot_reload.mirror(functions, lib, out)
    finally:
        os.umask(old_umask)
    assert files_under(out) == {
        f"{function.name}/{name}"
        for function in sorted(functions.iterdir())
        for name in ({p.relative_to(function).as_posix() for p in function.rglob("*.py")} - {"test_handler.py"})
        | {p.relative_to(lib).as_posix() for p in (lib / "payproc").glob("*.py")}
    }
    assert (out / "salary_files" / "helpers.py").read_bytes() == (
        functions / "salary_files" / "helpers.py"
    ).read_bytes()
    assert (out / "send_text" / "payproc" / "money.py").read_bytes() == (lib / "payproc" / "money.py").read_bytes()
    assert {p.stat().st_mode & 0o777 for p in out.rglob("*") if p.is_file()} == {0o644}
    assert {p.stat().st_mode & 0o777 for p in out.rglob("*") if p.is_dir()} == {0o755}


def test_a_second_mirror_changes_nothing(sources):
    functions, lib, out = sources
    hot_reload.mirror(functions, lib, out)
    assert hot_reload.mirror(functions, lib, out) == []


def test_edits_and_removals_change_the_files_inside_the_same_folders(sources):
    functions, lib, out = sources
    hot_reload.mirror(functions, lib, out)
    folders = {p: p.stat().st_ino for p in (out / "get_balance", out / "get_balance" / "payproc")}
    (out / "get_balance" / "__pycache__").mkdir()  # left by an earlier runtime: it could hold stale bytecode
    (out / "get_balance" / "__pycache__" / "handler.cpython-313.pyc").write_bytes(b"\0")

    (lib / "payproc" / "money.py").write_text("# edited\n")
    (functions / "get_balance" / "handler.py").write_text("def handler(event, context):\n    return 1\n")
    (functions / "salary_files" / "helpers.py").unlink()
    changed = hot_reload.mirror(functions, lib, out)

    assert ("get_balance", "handler.py") in changed and ("salary_files", "helpers.py (removed)") in changed
    assert sorted(function for function, name in changed if name == "payproc/money.py") == sorted(
        p.name for p in functions.iterdir()
    )
    assert (out / "start_payment" / "payproc" / "money.py").read_text() == "# edited\n"
    assert (out / "get_balance" / "handler.py").read_text().endswith("return 1\n")
    assert not (out / "salary_files" / "helpers.py").exists()
    assert {p: p.stat().st_ino for p in folders} == folders
    assert not (out / "get_balance" / "__pycache__").exists()
    assert not list(out.rglob(".*.partial"))


def test_a_function_file_named_as_a_lib_file_is_refused(sources):
    functions, lib, out = sources
    (functions / "get_balance" / "payproc").mkdir()
    (functions / "get_balance" / "payproc" / "money.py").write_text("")
    with pytest.raises(SystemExit, match="payproc/money.py"):
        hot_reload.mirror(functions, lib, out)


def test_watch_mirrors_each_save(sources):
    functions, lib, out = sources
    hot_reload.mirror(functions, lib, out)
    reports, stop = [], threading.Event()
    watcher = threading.Thread(target=hot_reload.watch, args=(functions, lib, out, reports.append, stop))
    watcher.start()
    try:
        saved = functions / "payment_status" / "handler.py"
        # An editor's atomic save: a new file renamed over the old one.
        (saved.parent / ".handler.py.swp").write_text("VALUE = 'saved'\n")
        (saved.parent / ".handler.py.swp").replace(saved)
        wait_for(lambda: (out / "payment_status" / "handler.py").read_text() == "VALUE = 'saved'\n", timeout=10)
        # The report comes when the whole mirror is done: a save before it may be taken into the same mirror.
        wait_for(lambda: reports, timeout=10)
        (lib / "payproc" / "cards.py").write_text("VALUE = 'in place'\n")
        wait_for(
            lambda: (out / "ingest_bills" / "payproc" / "cards.py").read_text() == "VALUE = 'in place'\n", timeout=10
        )
    finally:
        stop.set()
        watcher.join(timeout=10)
    assert reports[0] == [("payment_status", "handler.py")]
    assert hot_reload.summary(reports[-1]) == f"payproc/cards.py ({len(list(functions.iterdir()))} functions)"
