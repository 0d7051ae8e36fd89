"""The layer's third-party packages: installed once from lib/requirements.txt, the same bytes on every build.

Offline: the pinned package is a tiny wheel this test writes, found through the requirements file's own
--no-index/--find-links.
"""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "stack"))

import build_lambdas  # noqa: E402


def write_wheel(folder: Path, tag: str = "py3-none-any") -> Path:
    """A wheel of demo-pkg 1.0 (one module), with the metadata pip needs."""
    files = {
        "demo_pkg/__init__.py": b"VALUE = 1\n",
        "demo_pkg-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.0\n",
        "demo_pkg-1.0.dist-info/WHEEL": f"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: {tag}\n".encode(),
    }
    record = (
        "".join(
            f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}\n"
            for name, data in files.items()
        )
        + "demo_pkg-1.0.dist-info/RECORD,,\n"
    )
    files["demo_pkg-1.0.dist-info/RECORD"] = record.encode()
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"demo_pkg-1.0-{tag}.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return wheel


def make_lib(tmp_path: Path, tag: str = "py3-none-any") -> Path:
    lib = tmp_path / "lib"
    (lib / "payproc").mkdir(parents=True)
    (lib / "payproc" / "__init__.py").write_text("")
    wheel = write_wheel(tmp_path / "wheels", tag)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    (lib / "requirements.txt").write_text(
        f"--no-index\n--find-links {wheel.parent}\ndemo-pkg==1.0 --hash=sha256:{digest}\n"
    )
    return lib


def layer_names(out: Path) -> list[str]:
    with zipfile.ZipFile(out / "layers" / "payproc.zip") as archive:
        return archive.namelist()


def test_the_layer_holds_lib_and_the_pinned_wheels_files(tmp_path):
    build_lambdas.build(tmp_path / "functions", make_lib(tmp_path), tmp_path / "build")
    assert layer_names(tmp_path / "build") == [
        "python/demo_pkg-1.0.dist-info/METADATA",
        "python/demo_pkg-1.0.dist-info/WHEEL",
        "python/demo_pkg/__init__.py",
        "python/payproc/__init__.py",
    ]  # no requirements.txt, .pyc or pip's RECORD/INSTALLER/REQUESTED


def test_a_second_install_gives_the_same_bytes_and_a_second_build_installs_nothing(tmp_path, monkeypatch):
    lib = make_lib(tmp_path)
    first = build_lambdas.build(tmp_path / "functions", lib, tmp_path / "a")
    second = build_lambdas.build(tmp_path / "functions", lib, tmp_path / "b")  # its own cache: pip runs again
    zips = [tmp_path / out / "layers" / "payproc.zip" for out in ("a", "b")]
    assert zips[0].read_bytes() == zips[1].read_bytes()
    assert first["layers"]["payproc"]["sha256"] == second["layers"]["payproc"]["sha256"]

    def no_pip(*args, **kwargs):
        raise AssertionError("pip ran although the packages are cached")

    monkeypatch.setattr(build_lambdas.subprocess, "run", no_pip)
    assert build_lambdas.build(tmp_path / "functions", lib, tmp_path / "a")["layers"]["payproc"]["changed"] is False


def test_a_compiled_wheel_is_refused(tmp_path):
    with pytest.raises(subprocess.CalledProcessError):
        build_lambdas.build(
            tmp_path / "functions", make_lib(tmp_path, tag="cp313-cp313-manylinux_2_17_x86_64"), tmp_path / "build"
        )
    assert not (tmp_path / "build" / "layers" / "payproc.zip").exists()


def pins(path: Path) -> dict[str, str]:
    found = re.findall(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(\S+)", path.read_text(), re.MULTILINE)
    return {name.lower().replace("_", "-"): version for name, version in found}


def test_the_unit_tests_run_the_versions_the_layer_ships():
    layer = pins(REPO / "lib" / "requirements.txt")
    dev = pins(REPO / "requirements-dev.txt")
    assert layer and {name: dev.get(name) for name in layer} == layer
