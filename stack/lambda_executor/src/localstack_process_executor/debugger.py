"""Which function waits for a debugger, on which port, with which debugpy (standard library only).

PROCESS_EXECUTOR_DEBUG_FUNCTION names one function; the first of its execution environments listens for a debugpy
client on 127.0.0.1:PROCESS_EXECUTOR_DEBUG_PORT (default 5678) and waits for one before it imports the handler.
debugpy lives in `<runtime venv>/debugpy`, off the venv's import path: only that environment can import it.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_PORT = 5678


def port() -> int:
    return int(os.environ.get("PROCESS_EXECUTOR_DEBUG_PORT") or DEFAULT_PORT)


def wanted(function_name: str) -> bool:
    """Whether PROCESS_EXECUTOR_DEBUG_FUNCTION names this function: by its deployed name (payproc-start-payment) or
    by the short name a deployment prefixes (start_payment or start-payment)."""
    name = os.environ.get("PROCESS_EXECUTOR_DEBUG_FUNCTION", "").strip()
    if not name:
        return False
    return function_name == name or function_name.endswith("-" + name.replace("_", "-"))


def debugpy_dir(interpreter: Path) -> Path:
    """Where the set-up installs debugpy for the runtime venv of this interpreter (`<venv>/bin/python`)."""
    return interpreter.parent.parent / "debugpy"
