"""Build the Lambda deployment packages, reproducibly, into build/ (ignored).

    python stack/build_lambdas.py [--functions DIR] [--lib DIR] [--out DIR]

- build/functions/<name>.zip  one per functions/<name>/: its .py files (sub-packages included), without tests and
                              caches, at the zip's root (handler `handler.handler`).
- build/layers/payproc.zip    the shared layer from lib/: python/payproc/... (Lambda puts /opt/python on sys.path).

The same sources always give the same bytes: entries sorted, fixed timestamps (1980-01-01), fixed permissions
(0644), stored uncompressed (deflate output varies with the zlib build; these zips are tens of KB). So
`source_code_hash` only changes when code changes, and an unchanged function plans no change. A zip whose bytes did
not change is not rewritten. No third-party packages: the functions use the
standard library, the layer and the boto3 that AWS's runtime provides.

Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644  # regular file, rw-r--r--
EXCLUDED_DIRS = {"__pycache__", "tests", "test", ".pytest_cache"}
LAYER_NAME = "payproc"


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
            info.compress_type = zipfile.ZIP_STORED  # bytes independent of the zlib build; the zips are small
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


def layer_entries(lib: Path) -> dict[str, Path]:
    # Every package under lib/ (today: payproc), with its data files (e.g. py.typed), under python/.
    return {f"python/{p.relative_to(lib).as_posix()}": p for p in sorted(lib.rglob("*")) if wanted(p, lib, None)}


def build(functions_dir: Path, lib_dir: Path, out_dir: Path) -> dict:
    manifest: dict[str, dict] = {"functions": {}, "layers": {}}
    packages: list[tuple[str, str, Path, dict[str, Path]]] = []
    if functions_dir.is_dir():
        for folder in sorted(p for p in functions_dir.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
            entries = function_entries(folder)
            if entries:
                packages.append(("functions", folder.name, out_dir / "functions" / f"{folder.name}.zip", entries))
    if lib_dir.is_dir():
        entries = layer_entries(lib_dir)
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
    args = parser.parse_args(argv)
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
