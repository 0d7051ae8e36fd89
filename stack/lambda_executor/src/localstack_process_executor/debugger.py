"""Which function waits for a debugger, on which port, with which debugpy (standard library only).

PROCESS_EXECUTOR_DEBUG_FUNCTION names one function; the first of its execution environments listens for a debugpy
client on 127.0.0.1:PROCESS_EXECUTOR_DEBUG_PORT (default 5678) and waits for one before it imports the handler.
debugpy lives in `<runtime venv>/debugpy`, off the venv's import path: only that environment can import it.
That function's layers are put on its path through links that outlive deploys, so an IDE can map them to their sources.
"""

from __future__ import annotations

import os
import uuid
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


def layer_link(layer_name: str, unzipped: Path) -> Path:
    """`<FILESYSTEM_ROOT>/debug/layers/<name>`, a link to the layer's unzipped code: LocalStack's folder changes with
    every layer version, the link's path does not, so one path mapping in the IDE serves every deploy."""
    link = Path(os.environ.get("FILESYSTEM_ROOT") or ".filesystem") / "debug" / "layers" / layer_name
    link.parent.mkdir(parents=True, exist_ok=True)
    staged = link.with_name(f".{layer_name}-{uuid.uuid4().hex}")  # then renamed over the link: never missing
    staged.symlink_to(unzipped, target_is_directory=True)
    os.replace(staged, link)
    return link
