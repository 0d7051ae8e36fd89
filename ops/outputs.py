"""The Terraform outputs the operator tools read: the local deployment's build/outputs.json (`make deploy` writes
it), or for an AWS deployment the file `terraform -chdir=terraform output -json > outputs.json` writes (each output
under "value"), or that JSON on standard input with `--outputs -`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

LOCAL = Path(__file__).resolve().parent.parent / "build" / "outputs.json"


def read_outputs(path: str | None = None) -> dict[str, Any]:
    """The outputs by name, with plain values whichever of the two shapes the file has."""
    source = path or str(LOCAL)
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text()
        outputs = json.loads(text)
    except (OSError, ValueError) as error:
        sys.exit(
            f"cannot read the deployment's outputs from {source} ({error}): deploy first (make deploy), or pass "
            "--outputs with `terraform output -json` of your AWS deployment"
        )
    return {
        name: value["value"] if isinstance(value, dict) and "value" in value and "sensitive" in value else value
        for name, value in outputs.items()
    }
