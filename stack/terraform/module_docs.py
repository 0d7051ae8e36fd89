"""The Inputs and Outputs tables of each Terraform module's README, generated from its variables.tf and outputs.tf,
so they never drift from the code: `make docs` writes them, `--check` (tests/unit/test_terraform_docs.py) fails when a
table is stale or a variable or output has no description.

Our own rather than terraform-docs (whose marker comments it reuses): that is a Go binary, and our machines reach
only PyPI, Debian and npm. Usage: python stack/terraform/module_docs.py [--check]
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import hcl2

REPO = Path(__file__).resolve().parents[2]
ROOT_MODULE = REPO / "terraform"
BEGIN, END = "<!-- BEGIN_TF_DOCS -->", "<!-- END_TF_DOCS -->"


class UndocumentedError(ValueError):
    """A variable or output without a description."""


def modules() -> list[Path]:
    """The root module and every module under it."""
    return [ROOT_MODULE, *sorted(path.parent for path in (ROOT_MODULE / "modules").glob("*/variables.tf"))]


def _text(value: str) -> str:
    """A string attribute as written: python-hcl2 keeps quotes, and a heredoc's <<-EOT ... EOT."""
    if value.startswith('"<<'):
        body = value[1:-1].split("\n", 1)[1].rsplit("\n", 1)[0]
        return " ".join(textwrap.dedent(body).split())
    return json.loads(value) if value.startswith('"') else value


def _expression(value: Any) -> str:
    """A type or a default value as Terraform code, e.g. list(string), "payproc", ["a", "b"] or null."""
    if isinstance(value, str):
        return value[2:-1] if value.startswith("${") and value.endswith("}") else value
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_expression(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key} = {_expression(item)}" for key, item in value.items()) + "}"
    return str(value)


def _blocks(path: Path, kind: str) -> list[tuple[str, dict[str, Any]]]:
    blocks = hcl2.loads(path.read_text()).get(kind, []) if path.exists() else []
    return [(json.loads(name), body) for block in blocks for name, body in block.items()]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def tables(module: Path) -> str:
    """The markdown of a module's inputs and outputs; raises UndocumentedError naming what lacks a description."""
    variables, outputs = _blocks(module / "variables.tf", "variable"), _blocks(module / "outputs.tf", "output")
    undocumented = [f"variable {name}" for name, body in variables if not _text(body.get("description", ""))]
    undocumented += [f"output {name}" for name, body in outputs if not _text(body.get("description", ""))]
    if undocumented:
        raise UndocumentedError(f"{module.relative_to(REPO)}: no description for {', '.join(undocumented)}")
    lines = ["## Inputs", "", "| name | description | type | default |", "| --- | --- | --- | --- |"]
    for name, body in variables:
        default = f"`{_cell(_expression(body['default']))}`" if "default" in body else "required"
        kind = _cell(_expression(body.get("type", "any")))
        lines.append(f"| `{name}` | {_cell(_text(body['description']))} | `{kind}` | {default} |")
    lines += ["", "## Outputs", "", "| name | description |", "| --- | --- |"]
    lines += [f"| `{name}` | {_cell(_text(body['description']))} |" for name, body in outputs]
    return "\n".join(lines)


def updated(readme: str, generated: str, where: Path) -> str:
    """The README with its generated part replaced."""
    if BEGIN not in readme or END not in readme:
        raise ValueError(f"{where.relative_to(REPO)} has no {BEGIN} ... {END} section to fill")
    before, rest = readme.split(BEGIN, 1)
    return f"{before}{BEGIN}\n{generated}\n{END}{rest.split(END, 1)[1]}"


def readmes_to_write() -> dict[Path, str]:
    """Each README whose tables differ from its module's code, with the text it should have."""
    to_write = {}
    for module in modules():
        readme = module / "README.md"
        text = readme.read_text()
        if (new := updated(text, tables(module), readme)) != text:
            to_write[readme] = new
    return to_write


def main(argv: list[str]) -> int:
    check = argv == ["--check"]
    try:
        to_write = readmes_to_write()
    except ValueError as error:  # an undocumented variable or output, a README without the markers
        print(error, file=sys.stderr)
        return 2
    names = ", ".join(str(readme.relative_to(REPO)) for readme in to_write) or "none"
    if check:
        print(f"stale tables: {names}" + (": run `make docs`" if to_write else ""), file=sys.stderr)
        return 1 if to_write else 0
    for readme, text in to_write.items():
        readme.write_text(text)
    print(f"written: {names}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
