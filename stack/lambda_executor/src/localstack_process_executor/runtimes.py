"""Which interpreter runs a function: a per-runtime venv holding only boto3, like AWS's Python runtimes."""

from __future__ import annotations

import os
from pathlib import Path


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


def resolve(declared: str) -> str:
    """The runtime that actually runs a function declaring `declared` (an alias target, or itself)."""
    return aliases().get(declared, declared)


def interpreter(runtime: str) -> Path:
    return runtimes_dir() / runtime / "bin" / "python"


def missing_interpreter_message(runtime: str) -> str | None:
    """None when `runtime` can run here; otherwise what is missing and how to create it."""
    if not runtime.startswith("python"):
        return f"The process executor runs Python functions only, not {runtime} (use the docker stack)."
    python = interpreter(runtime)
    if python.exists():
        return None
    venv = python.parent.parent
    return (
        f"No runtime venv for {runtime}: {python} does not exist. Create it with "
        f"`{runtime} -m venv {venv} && {venv}/bin/pip install boto3` (the project's setup does this), "
        f"or map the runtime to an installed one with PROCESS_EXECUTOR_RUNTIME_ALIASES={runtime}=python3.13."
    )
