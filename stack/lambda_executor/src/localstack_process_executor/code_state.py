"""What a hot-reloading function's code looks like now. Its code is a folder on this machine (LocalStack's magic
`hot-reload` bucket, key = the folder), read by the function's process when it starts; a process started before a
change would go on running the old code, so the executor compares this state at each invoke with the one its
process started from and starts a fresh process when they differ, as LocalStack's init in a container restarts the
runtime when the mounted folder changes.
"""

from __future__ import annotations

import os
from pathlib import Path

# Bytecode caches: not code (the executor writes none beside hot-reloading code; other tools may have).
IGNORED_DIRS = {"__pycache__"}


def code_state(folder: Path) -> frozenset[tuple[str, int, int]]:
    """Path, modification time and size of every file under the folder: an edit changes the time (and mostly the
    size), an added, removed or renamed file the paths. A folder that does not exist has no files."""
    state = set()
    for root, dirs, files in os.walk(folder):
        dirs[:] = [name for name in dirs if name not in IGNORED_DIRS]
        for name in files:
            path = os.path.join(root, name)
            try:
                stat = os.stat(path)
            except FileNotFoundError:  # removed meanwhile: the next look finds it gone
                continue
            state.add((path, stat.st_mtime_ns, stat.st_size))
    return frozenset(state)
