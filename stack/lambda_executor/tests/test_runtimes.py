"""Which runtime venv runs a function (runtimes.py): the declared one, an alias's target, or the nearest newer one
installed, unless strict runtimes are asked for. Runtime venvs are faked as empty bin/python files: only their
presence counts here; tests/stack/test_lambda_executor.py runs real ones.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from localstack_process_executor import runtimes
from localstack_process_executor.runtimes import Choice, RuntimeUnavailable


@pytest.fixture
def runtimes_dir(monkeypatch, tmp_path) -> Path:
    monkeypatch.setenv("PROCESS_EXECUTOR_RUNTIMES_DIR", str(tmp_path))
    monkeypatch.delenv("PROCESS_EXECUTOR_RUNTIME_ALIASES", raising=False)
    monkeypatch.delenv("PROCESS_EXECUTOR_STRICT_RUNTIMES", raising=False)
    return tmp_path


def install(runtimes_dir: Path, *names: str) -> None:
    for name in names:
        (runtimes_dir / name / "bin").mkdir(parents=True)
        (runtimes_dir / name / "bin" / "python").touch()


def test_an_installed_runtime_runs_as_declared(runtimes_dir):
    install(runtimes_dir, "python3.9", "python3.12", "python3.13")
    for declared in ("python3.9", "python3.12", "python3.13"):
        choice = runtimes.choose(declared)
        assert choice == Choice(declared, declared) and choice.warning is None


def test_a_missing_runtime_falls_back_to_the_nearest_newer_one(runtimes_dir):
    install(runtimes_dir, "python3.13", "python3.11", "python3.10", "python3.9")
    # Ordered as versions: as text, python3.10 and python3.11 would come before python3.9.
    assert runtimes.choose("python3.8") == Choice("python3.8", "python3.9", fallback=True)
    assert runtimes.choose("python3.12") == Choice("python3.12", "python3.13", fallback=True)
    warning = runtimes.choose("python3.8").warning
    assert "declares python3.8" in warning and "runs on python3.9" in warning
    assert f"{runtimes_dir}/python3.8/bin/python" in warning  # where the missing venv was looked for
    assert "PROCESS_EXECUTOR_STRICT_RUNTIMES=1" in warning  # how to make it an error


def test_no_newer_runtime_installed_fails_with_the_clear_message(runtimes_dir):
    install(runtimes_dir, "python3.11", "python3.12")
    with pytest.raises(RuntimeUnavailable) as missing:
        runtimes.choose("python3.13")
    message = str(missing.value)
    assert message.startswith("No runtime venv for python3.13:") and "no newer runtime" in message
    assert f"python3.13 -m venv {runtimes_dir}/python3.13" in message


def test_strict_runtimes_fail_instead_of_falling_back(runtimes_dir, monkeypatch):
    install(runtimes_dir, "python3.12", "python3.13")
    monkeypatch.setenv("PROCESS_EXECUTOR_STRICT_RUNTIMES", "1")
    with pytest.raises(RuntimeUnavailable, match="^No runtime venv for python3.11: .*PROCESS_EXECUTOR_STRICT_RUNTIMES"):
        runtimes.choose("python3.11")
    assert runtimes.choose("python3.12") == Choice("python3.12", "python3.12")
    monkeypatch.setenv("PROCESS_EXECUTOR_STRICT_RUNTIMES", "0")
    assert runtimes.choose("python3.11").runtime == "python3.12"


def test_an_alias_wins_over_the_declared_runtime_and_the_fallback(runtimes_dir, monkeypatch):
    install(runtimes_dir, "python3.8", "python3.9", "python3.13")
    monkeypatch.setenv("PROCESS_EXECUTOR_RUNTIME_ALIASES", "python3.8=python3.13,python3.10=python3.12")
    choice = runtimes.choose("python3.8")  # installed itself, and 3.9 would be the fallback: the alias decides
    assert choice == Choice("python3.8", "python3.13") and "PROCESS_EXECUTOR_RUNTIME_ALIASES" in choice.warning
    with pytest.raises(RuntimeUnavailable, match="^No runtime venv for python3.12: .*alias python3.10=python3.12"):
        runtimes.choose("python3.10")  # taken as said: its missing target does not fall back to python3.13


def test_a_venv_whose_python_was_uninstalled_does_not_count(runtimes_dir):
    install(runtimes_dir, "python3.13")
    (runtimes_dir / "python3.11" / "bin").mkdir(parents=True)
    (runtimes_dir / "python3.11" / "bin" / "python").symlink_to(runtimes_dir / "gone" / "python3.11")
    (runtimes_dir / "python-unrelated" / "bin").mkdir(parents=True)
    assert runtimes.installed() == ["python3.13"]
    assert runtimes.choose("python3.10").runtime == "python3.13"
    assert runtimes.choose("python3.11").runtime == "python3.13"


def test_only_python_runtimes_run(runtimes_dir):
    install(runtimes_dir, "python3.13")
    with pytest.raises(RuntimeUnavailable, match="Python functions only, not nodejs20.x"):
        runtimes.choose("nodejs20.x")


def test_aliases_are_read_leniently(monkeypatch):
    monkeypatch.setenv("PROCESS_EXECUTOR_RUNTIME_ALIASES", " python3.8=python3.13, python3.9 = python3.12,junk")
    assert runtimes.aliases() == {"python3.8": "python3.13", "python3.9": "python3.12"}


def test_runtimes_dir_defaults_under_the_filesystem_root(monkeypatch):
    monkeypatch.delenv("PROCESS_EXECUTOR_RUNTIMES_DIR", raising=False)
    monkeypatch.setenv("FILESYSTEM_ROOT", "/srv/stack")
    assert runtimes.runtimes_dir() == Path("/srv/stack/runtimes")
    assert runtimes.interpreter("python3.13") == Path("/srv/stack/runtimes/python3.13/bin/python")
