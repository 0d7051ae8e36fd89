"""All Python is held to pyproject.toml's [tool.ruff]: its lint rules (the 120-character line included) and its
formatter. `.venv/bin/ruff format .` applies the formatter."""

import subprocess
import sys

import pytest

from tests.helpers.handlers import REPO


@pytest.mark.parametrize("command", [["check", "."], ["format", "--check", "."]], ids=["lint", "format"])
def test_ruff_passes(command):
    result = subprocess.run([sys.executable, "-m", "ruff", *command], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
