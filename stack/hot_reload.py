"""`make dev`: deploy the functions so that a saved change to functions/* or lib/ runs at their next invocation,
with no deploy. `make deploy` goes back to the zips.

    python stack/hot_reload.py [--functions DIR] [--lib DIR] [--out DIR]

1. Mirrors each functions/<name>/ into build/hot-reload/<name>/ with lib/'s packages (payproc) beside its code: the
   files its zip and the layer hold (stack/build_lambdas.py's rules).
2. Deploys terraform/ as `make deploy` does, with TF_VAR_hot_reload_dir set to that folder: each function's code is
   LocalStack's magic bucket `hot-reload` with <out>/<name> as key instead of its zip. The layer stays for
   lib/requirements.txt's packages (a change there needs `make dev` again); the mirrored payproc shadows its copy,
   as the code's folder comes first on sys.path.
3. Watches the sources (watchdog) and mirrors every save until Ctrl-C; the functions keep the last mirrored code.

How each stack mode then runs the new code:
- docker: LocalStack bind-mounts <out>/<name> as the container's /var/task, and its init restarts the runtime
  0.5 s after the last change under it, so the next invocation imports the new code.
- embedded: our executor compares the folder's files at each invocation and starts a fresh process when they
  changed (stack/lambda_executor, code_state.py).

Why a mirror rather than the working tree: a container sees only the folder mounted as /var/task (a symlink out of
it does not resolve there), and the one folder holding both functions/ and lib/ is the checkout, every folder of
which LocalStack's init would watch (~11,000 with .venv and .stack) and whose every build or git write would restart
every function. Files are replaced inside the folders, never the folders: a bind mount stays on the folder it got.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from watchdog.events import (
    EVENT_TYPE_ATTRIB,
    EVENT_TYPE_CLOSED_NO_WRITE,
    EVENT_TYPE_OPENED,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

import build_lambdas

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "stack" / "terraform" / "deploy.py"
# As in the zips, whatever the umask: the runtime's user in a container must read the files and enter the folders.
FILE_MODE, FOLDER_MODE = 0o644, 0o755
SETTLE_S = 0.05  # one save can be several events (write, rename, chmod): mirror once, after them
# Events that change no file's bytes, such as the mirror's own reads of the sources (and the access times they set).
UNCHANGING_EVENTS = {EVENT_TYPE_OPENED, EVENT_TYPE_CLOSED_NO_WRITE, EVENT_TYPE_ATTRIB}


def say(message: str) -> None:
    print(f"\033[1m==> {message}\033[0m", flush=True)


def wanted_files(functions_dir: Path, lib_dir: Path) -> dict[str, dict[str, Path]]:
    """{function: {path in its hot-reload folder: source file}}: the function's code and lib/'s packages."""
    packages = build_lambdas.package_sources(lib_dir)
    wanted = {}
    for folder in build_lambdas.function_folders(functions_dir):
        code = build_lambdas.function_entries(folder)
        if clash := sorted(set(code) & set(packages)):
            raise SystemExit(f"{folder / clash[0]} has the path of a file of lib/'s packages")
        wanted[folder.name] = {**packages, **code}
    return wanted


def make_folders(folder: Path) -> None:
    """The folder and its missing parents, with FOLDER_MODE. Only these are chmod-ed: a container's init restarts
    the runtime at any change under its folder, a change of mode included."""
    missing = []
    while not folder.is_dir():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir()
        path.chmod(FOLDER_MODE)


def mirror(functions_dir: Path, lib_dir: Path, out_dir: Path) -> list[tuple[str, str]]:
    """Bring out_dir/<function>/ in step with the sources; return what changed: (function, path in its folder)."""
    changed = []
    for function, files in wanted_files(functions_dir, lib_dir).items():
        folder = out_dir / function
        for name, source in files.items():
            target, data = folder / name, source.read_bytes()
            if target.is_file() and target.read_bytes() == data:
                continue
            make_folders(target.parent)
            # Replaced whole: a runtime starting meanwhile reads the old file or the new one, never half of one.
            temporary = target.with_name(f".{target.name}.partial")
            temporary.write_bytes(data)
            temporary.chmod(FILE_MODE)
            temporary.replace(target)
            changed.append((function, name))
        for path in sorted(folder.rglob("*"), reverse=True):  # a folder's files before the folder
            relative = path.relative_to(folder)
            if path.is_dir():
                if not any(path.iterdir()):
                    path.rmdir()
            elif relative.as_posix() not in files:
                path.unlink()
                changed.append((function, f"{relative.as_posix()} (removed)"))
    return changed


def summary(changed: list[tuple[str, str]]) -> str:
    """ "payproc/http.py (9 functions), handler.py (get_balance)": each file once, with the functions it changed."""
    functions: dict[str, list[str]] = {}
    for function, name in changed:
        functions.setdefault(name, []).append(function)
    return ", ".join(
        f"{name} ({', '.join(names) if len(names) < 3 else f'{len(names)} functions'})"
        for name, names in functions.items()
    )


class Saves(FileSystemEventHandler):
    """Set whenever something under the watched folders may have changed."""

    def __init__(self) -> None:
        self.seen = threading.Event()

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in UNCHANGING_EVENTS:
            self.seen.set()


def watch(
    functions_dir: Path,
    lib_dir: Path,
    out_dir: Path,
    report: Callable[[list[tuple[str, str]]], None],
    stop: threading.Event,
) -> None:
    """Mirror after every save until stop is set; report(changed) after each mirror that changed something."""
    saves, observer = Saves(), Observer()
    for folder in (functions_dir, lib_dir):
        observer.schedule(saves, str(folder), recursive=True)
    observer.start()
    saves.seen.set()  # what was saved before the observer started (e.g. during the deploy)
    try:
        while not stop.is_set():
            if not saves.seen.wait(0.2):
                continue
            time.sleep(SETTLE_S)
            saves.seen.clear()  # before mirroring: a save made while it runs mirrors again
            try:
                changed = mirror(functions_dir, lib_dir, out_dir)
            except OSError as error:  # e.g. an editor's temporary file gone meanwhile: the next event retries
                print(f"hot reload: {error}", file=sys.stderr, flush=True)
                continue
            if changed:
                report(changed)
    finally:
        observer.stop()
        observer.join()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--functions", type=Path, default=REPO / "functions", help="default: functions/")
    parser.add_argument("--lib", type=Path, default=REPO / "lib", help="default: lib/")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "hot-reload", help="default: build/hot-reload/")
    args = parser.parse_args(argv)
    functions_dir, lib_dir, out_dir = args.functions.resolve(), args.lib.resolve(), args.out.resolve()
    try:
        mirror(functions_dir, lib_dir, out_dir)
        say(f"hot-reload folders in {out_dir}")
        deployed = subprocess.run(
            [sys.executable, str(DEPLOY), "apply"], env={**os.environ, "TF_VAR_hot_reload_dir": str(out_dir)}
        )
        if deployed.returncode:
            return deployed.returncode
        say(
            f"watching {functions_dir} and {lib_dir}: a saved change runs at the function's next invocation "
            "(Ctrl-C stops watching; `make deploy` goes back to the zips)"
        )
        watch(functions_dir, lib_dir, out_dir, lambda changed: say(f"mirrored {summary(changed)}"), threading.Event())
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
