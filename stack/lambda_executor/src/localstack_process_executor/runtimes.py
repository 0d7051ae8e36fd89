"""Which interpreter runs a function: a per-runtime venv holding only boto3, like AWS's Python runtimes.

A function runs on the runtime it declares; an alias (PROCESS_EXECUTOR_RUNTIME_ALIASES) names another one and wins.
A runtime with no venv here falls back to the nearest newer one installed, with a warning, since code written for
Python 3.X nearly always runs on a later 3.Y and seldom on an earlier one; PROCESS_EXECUTOR_STRICT_RUNTIMES=1 makes
it an error instead, as on AWS.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

STRICT_VARIABLE = "PROCESS_EXECUTOR_STRICT_RUNTIMES"


class RuntimeUnavailable(Exception):
    """No interpreter here can run the function; the message says what is missing and how to get it."""


@dataclass(frozen=True)
class Choice:
    declared: str  # the function's Runtime, e.g. python3.10
    runtime: str  # the runtime whose venv runs it, e.g. python3.11
    fallback: bool = False  # the declared runtime has no venv here: the function's own log must say so too

    @property
    def warning(self) -> str | None:
        """Why another runtime runs the function; None when the declared one does."""
        if self.runtime == self.declared:
            return None
        if not self.fallback:
            return f"declares {self.declared} and runs on {self.runtime} (PROCESS_EXECUTOR_RUNTIME_ALIASES)"
        return (
            f"declares {self.declared}, which has no runtime venv here ({interpreter(self.declared)}), "
            f"so it runs on {self.runtime}, the nearest newer one installed. Install Python "
            f"{self.declared.removeprefix('python')} and run `make setup` to run it on its own, or set "
            f"{STRICT_VARIABLE}=1 to make this an error."
        )


def runtimes_dir() -> Path:
    # Read at call time (not import time) so a test or a restart with new settings needs no reload.
    configured = os.environ.get("PROCESS_EXECUTOR_RUNTIMES_DIR")
    if configured:
        return Path(configured)
    return Path(os.environ.get("FILESYSTEM_ROOT") or ".filesystem") / "runtimes"


def aliases() -> dict[str, str]:
    """PROCESS_EXECUTOR_RUNTIME_ALIASES="python3.8=python3.13,python3.9=python3.13" as a dict."""
    result: dict[str, str] = {}
    for item in os.environ.get("PROCESS_EXECUTOR_RUNTIME_ALIASES", "").split(","):
        declared, _, actual = item.partition("=")
        if declared.strip() and actual.strip():
            result[declared.strip()] = actual.strip()
    return result


def strict() -> bool:
    return os.environ.get(STRICT_VARIABLE, "").strip().lower() in ("1", "true")  # LocalStack's own true values


def interpreter(runtime: str) -> Path:
    return runtimes_dir() / runtime / "bin" / "python"


def python_version(runtime: str) -> tuple[int, int] | None:
    """(3, 12) for python3.12; None for anything else."""
    match = re.fullmatch(r"python(\d+)\.(\d+)", runtime)
    return (int(match[1]), int(match[2])) if match else None


def installed() -> list[str]:
    """The Python runtimes with a working interpreter in the runtimes dir, oldest first."""
    try:
        names = [entry.name for entry in runtimes_dir().iterdir()]
    except FileNotFoundError:
        return []
    # exists() follows the venv's link to its interpreter: a venv whose Python was uninstalled does not count.
    return sorted((name for name in names if python_version(name) and interpreter(name).exists()), key=python_version)


def choose(declared: str) -> Choice:
    """The runtime that runs a function declaring `declared`; RuntimeUnavailable when none can."""
    if not python_version(declared):
        raise RuntimeUnavailable(
            f"The process executor runs Python functions only, not {declared} (use the docker stack)."
        )
    if target := aliases().get(declared):  # an alias is taken as said: no fallback from its target
        if not interpreter(target).exists():
            raise RuntimeUnavailable(missing_message(target, f"the alias {declared}={target} names it"))
        return Choice(declared, target)
    if interpreter(declared).exists():
        return Choice(declared, declared)
    if strict():
        raise RuntimeUnavailable(missing_message(declared, f"{STRICT_VARIABLE} is set, so no newer one stands in"))
    newer = [runtime for runtime in installed() if python_version(runtime) > python_version(declared)]
    if not newer:
        raise RuntimeUnavailable(missing_message(declared, "and no newer runtime is installed to stand in"))
    return Choice(declared, newer[0], fallback=True)


def missing_message(runtime: str, why: str) -> str:
    python = interpreter(runtime)
    venv = python.parent.parent
    return (
        f"No runtime venv for {runtime}: {python} does not exist ({why}). Install Python "
        f"{runtime.removeprefix('python')} and run `make setup`, or create it with "
        f"`{runtime} -m venv {venv} && {venv}/bin/pip install boto3`, "
        f"or map the runtime to an installed one with PROCESS_EXECUTOR_RUNTIME_ALIASES={runtime}=python3.13."
    )
