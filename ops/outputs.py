"""The Terraform outputs the operator tools read: the local deployment's build/outputs.json (`make deploy` writes
it), or for an AWS deployment the file `terraform -chdir=terraform output -json > outputs.json` writes (each output
under "value"), or that JSON on standard input with `--outputs -`."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

# Where `make deploy` writes them (stack/terraform/deploy.py: DEPLOY_OUTPUTS, else build/outputs.json).
LOCAL = Path(os.environ.get("DEPLOY_OUTPUTS") or Path(__file__).resolve().parent.parent / "build" / "outputs.json")


def plain(outputs: dict[str, Any]) -> dict[str, Any]:
    """The outputs by name with plain values, whichever of the two shapes they came in."""
    return {
        name: value["value"] if isinstance(value, dict) and "value" in value and "sensitive" in value else value
        for name, value in outputs.items()
    }


def load(path: Path) -> dict[str, Any]:
    """The outputs in a file, plain; OSError or ValueError when there are none to read."""
    return plain(json.loads(path.read_text()))


def read_outputs(path: str | None = None) -> dict[str, Any]:
    """The outputs by name for a command-line tool: from a file or standard input; exits saying what to do."""
    source = path or str(LOCAL)
    try:
        return plain(json.loads(sys.stdin.read())) if source == "-" else load(Path(source))
    except (OSError, ValueError) as error:
        sys.exit(
            f"cannot read the deployment's outputs from {source} ({error}): deploy first (make deploy), or pass "
            "--outputs with `terraform output -json` of your AWS deployment"
        )
