"""Build the Lambda deployment packages, reproducibly, into build/ (ignored).

    python stack/build_lambdas.py [--functions DIR] [--lib DIR] [--out DIR]
    python stack/build_lambdas.py --packages-only   # install the layer's packages now (setup), so deploys run offline

- build/functions/<name>.zip  one per functions/<name>/: its .py files (sub-packages included), without tests and
                              caches, at the zip's root (handler `handler.handler`).
- build/layers/payproc.zip    the shared layer: lib/'s packages (python/payproc/...) and the third-party packages
                              pinned in lib/requirements.txt (python/aws_lambda_powertools/...), all under python/
                              (Lambda puts /opt/python on sys.path).

The same sources always give the same bytes: entries sorted, fixed timestamps (1980-01-01), fixed permissions
(0644), stored uncompressed (deflate output varies with the zlib build). So `source_code_hash` only changes when code
changes, and an unchanged function plans no change. A zip whose bytes did not change is not rewritten.

The third-party packages are pip-installed once per content of lib/requirements.txt into build/cache/ (a second
build installs nothing): exactly the pinned, hash-checked files (--no-deps), pure-Python wheels for the runtime's
Python whatever Python builds (--only-binary, platform `any`), without .pyc files or pip's install records, so the
layer holds the wheels' files and nothing that depends on the machine or the pip version. Everything else the
functions import is the standard library and the boto3 that AWS's runtime provides.

Standard library and pip only.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644  # regular file, rw-r--r--
EXCLUDED_DIRS = {"__pycache__", "tests", "test", ".pytest_cache"}
LAYER_NAME = "payproc"
LAYER_REQUIREMENTS = "requirements.txt"  # in lib/
RUNTIME_PYTHON = "3.13"  # the functions' Python: pip takes the wheels whose Requires-Python admits it
PACKAGES_CACHE = Path("cache") / "layer-packages"  # in build/
# What pip writes about an install rather than what the wheel holds (RECORD's form changes with pip's version).
INSTALL_RECORDS = {"INSTALLER", "RECORD", "REQUESTED", "direct_url.json"}


def wanted(path: Path, root: Path, suffixes: tuple[str, ...] | None) -> bool:
    relative = path.relative_to(root)
    if any(part in EXCLUDED_DIRS or part.startswith(".") for part in relative.parts):
        return False
    if path.name.startswith("test_") or path.name.endswith("_test.py") or path.name == "conftest.py":
        return False
    if path.suffix in (".pyc", ".pyo"):
        return False
    return path.is_file() and (suffixes is None or path.suffix in suffixes)


def zip_bytes(entries: dict[str, Path]) -> bytes:
    """A deterministic zip of {archive name: source file}."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_STORED  # zlib-independent bytes; 4.5 MB of layer, Lambda allows 50
            info.create_system = 3  # Unix, so external_attr means mode bits everywhere
            info.external_attr = FILE_MODE << 16
            archive.writestr(info, entries[name].read_bytes())
    return buffer.getvalue()


def write_if_changed(path: Path, data: bytes) -> bool:
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(data)
    temporary.replace(path)
    return True


def function_entries(folder: Path) -> dict[str, Path]:
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*.py")) if wanted(p, folder, (".py",))}


def function_folders(functions_dir: Path) -> list[Path]:
    """One folder per function: functions/<name>/, not hidden or private ones."""
    return sorted(p for p in functions_dir.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def package_sources(lib: Path) -> dict[str, Path]:
    """Every package under lib/ (today: payproc) with its data files (e.g. py.typed), by path inside lib/; files at
    lib/'s top (requirements.txt) are not packages."""
    return {p.relative_to(lib).as_posix(): p for p in sorted(lib.glob("*/**/*")) if wanted(p, lib, None)}


def layer_entries(lib: Path, cache: Path) -> dict[str, Path]:
    entries = {f"python/{name}": path for name, path in package_sources(lib).items()}
    packages = pinned_packages(lib / LAYER_REQUIREMENTS, cache)
    if packages:
        for name, path in package_entries(packages).items():
            if f"python/{name}" in entries:
                raise SystemExit(f"{lib / LAYER_REQUIREMENTS} installs {name}, which lib/ has too")
            entries[f"python/{name}"] = path
    return entries


def pinned_packages(requirements: Path, cache: Path) -> Path | None:
    """The folder holding the packages `requirements` pins, installed once per content of that file; None if none."""
    if not requirements.is_file():
        return None
    key = hashlib.sha256(f"{RUNTIME_PYTHON}\n".encode() + requirements.read_bytes()).hexdigest()[:16]
    installed = cache / key
    if installed.is_dir():
        return installed
    if cache.is_dir():  # installs of earlier pins
        for old in cache.iterdir():
            shutil.rmtree(old)
    partial = cache / f"{key}.partial"  # renamed when complete, so a broken install is never taken for one
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
        "--require-hashes",
        "--only-binary=:all:",
        "--no-compile",
        "--implementation",
        "py",
        "--platform",
        "any",
        "--python-version",
        RUNTIME_PYTHON,
        "--target",
        str(partial),
        "-r",
        str(requirements),
    ]
    done = subprocess.run(command, capture_output=True, text=True)  # pip's notes about this machine's indexes: noise
    if done.returncode:
        sys.stderr.write(
            f"{done.stderr}build_lambdas: pip could not install {requirements}'s packages; offline, "
            f"`make setup` installs them into {cache} beforehand\n"
        )
        raise subprocess.CalledProcessError(done.returncode, command, done.stdout, done.stderr)
    partial.rename(installed)
    return installed


def package_entries(packages: Path) -> dict[str, Path]:
    """{path in the layer's python/: file} of an install: the wheels' files, without caches, scripts and records."""
    entries = {}
    for path in sorted(packages.rglob("*")):
        relative = path.relative_to(packages)
        if not path.is_file() or relative.parts[0] == "bin" or "__pycache__" in relative.parts:
            continue
        if path.suffix in (".pyc", ".pyo") or (
            relative.parent.name.endswith(".dist-info") and path.name in INSTALL_RECORDS
        ):
            continue
        entries[relative.as_posix()] = path
    return entries


def build(functions_dir: Path, lib_dir: Path, out_dir: Path) -> dict:
    manifest: dict[str, dict] = {"functions": {}, "layers": {}}
    packages: list[tuple[str, str, Path, dict[str, Path]]] = []
    if functions_dir.is_dir():
        for folder in function_folders(functions_dir):
            entries = function_entries(folder)
            if entries:
                packages.append(("functions", folder.name, out_dir / "functions" / f"{folder.name}.zip", entries))
    if lib_dir.is_dir():
        entries = layer_entries(lib_dir, out_dir / PACKAGES_CACHE)
        if entries:
            packages.append(("layers", LAYER_NAME, out_dir / "layers" / f"{LAYER_NAME}.zip", entries))

    expected = {path for _, _, path, _ in packages}
    for kind in ("functions", "layers"):  # zips of folders that no longer exist would deploy stale code
        for stale in (out_dir / kind).glob("*.zip") if (out_dir / kind).is_dir() else ():
            if stale not in expected:
                stale.unlink()

    for kind, name, path, entries in packages:
        data = zip_bytes(entries)
        changed = write_if_changed(path, data)
        manifest[kind][name] = {
            "zip": str(path),
            "files": sorted(entries),
            "sha256": hashlib.sha256(data).hexdigest(),
            "changed": changed,
        }
    write_if_changed(out_dir / "lambdas.json", (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
    return manifest


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--functions", type=Path, default=REPO / "functions", help="default: functions/")
    parser.add_argument("--lib", type=Path, default=REPO / "lib", help="default: lib/")
    parser.add_argument("--out", type=Path, default=REPO / "build", help="default: build/")
    parser.add_argument("-q", "--quiet", action="store_true")
    parser.add_argument(
        "--packages-only",
        action="store_true",
        help="only install the layer's pinned packages into the cache (needs the package index)",
    )
    args = parser.parse_args(argv)
    if args.packages_only:
        packages = pinned_packages(args.lib / LAYER_REQUIREMENTS, args.out / PACKAGES_CACHE)
        if not args.quiet:
            print(f"layer packages in {packages}" if packages else f"no {args.lib / LAYER_REQUIREMENTS}")
        return 0
    manifest = build(args.functions, args.lib, args.out)
    if not args.quiet:
        for kind in ("functions", "layers"):
            for name, item in manifest[kind].items():
                state = "built" if item["changed"] else "unchanged"
                print(f"{kind[:-1]:8} {name:16} {len(item['files']):3} files  {item['sha256'][:12]}  {state}")
        if not manifest["functions"]:
            print(f"no functions found in {args.functions}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
