"""terraform/ against the schemas of the providers users install (newest hashicorp/aws 5.x and 6.x), offline.

stack/terraform/provider_schema.py reads the jsii assemblies that stack/setup.sh extracts into .stack/provider-schemas/
(pinned in stack/terraform/provider-schemas.txt). Without them this file fails: they are the only proof the modules
fit a current provider. Each assembly is >100 MB of JSON (2-4 s to load), so each is loaded once for the module.
"""

from __future__ import annotations

import json
import pickle
import re
import shutil
import sys
from pathlib import Path

import pytest

from tests.helpers.stack import REPO

sys.path.insert(0, str(REPO / "stack" / "terraform"))

import provider_schema  # noqa: E402

ROOT = REPO / "terraform"

# Outputs that read what 6.0 removed from aws_api_gateway_deployment (5.x only deprecates it), once plainly and once
# inside an interpolation in a `for` expression.
REMOVED_IN_6 = """\
output "deployment_invoke_url" {
  value = aws_api_gateway_deployment.this.invoke_url
}

output "deployment_stage_arns" {
  value = [for stage in ["live"] : "${aws_api_gateway_deployment.this.execution_arn}/${stage}"]
}
"""


@pytest.fixture(scope="module")
def schemas() -> dict[int, provider_schema.Schema]:
    try:
        loaded = provider_schema.load_pinned_schemas()
    except provider_schema.SchemaError as error:
        pytest.fail(str(error))
    return {int(schema.version.split(".")[0]): schema for schema in loaded}


def test_both_provider_lines_are_pinned(schemas):
    assert sorted(schemas) == [5, 6]


LINK = "{@link https://registry.terraform.io/providers/hashicorp/aws/9.9.9/docs/resources/widget aws_widget}"
TINY_ASSEMBLY = {  # one resource, as the real assemblies describe theirs
    "types": {
        "aws.widget.Widget": {
            "kind": "class",
            "base": "cdktf.TerraformResource",
            "docs": {"summary": f"Represents a {LINK}."},
            "initializer": {"parameters": [{"name": "config", "type": {"fqn": "aws.widget.WidgetConfig"}}]},
            "properties": [{"name": "arn", "type": {"primitive": "string"}}],
        },
        "aws.widget.WidgetConfig": {
            "datatype": True,
            "properties": [{"name": "name", "type": {"primitive": "string"}, "docs": {"summary": LINK}}],
        },
    }
}


def test_a_kept_schema_serves_until_its_assembly_changes(tmp_path):
    assembly = tmp_path / "provider-aws@0.0.0.jsii"
    assembly.write_text(json.dumps(TINY_ASSEMBLY))
    parsed = provider_schema.load_schema(assembly)
    assert parsed.version == "9.9.9" and parsed.resources["aws_widget"].required == {"name"}

    kept = tmp_path / f"{assembly.name}.schema.pickle"
    key, schema = pickle.loads(kept.read_bytes())
    schema.version = "as kept"  # so that a load from the kept copy shows
    kept.write_bytes(pickle.dumps((key, schema)))
    assert provider_schema.load_schema(assembly).version == "as kept"

    assembly.write_text(json.dumps(TINY_ASSEMBLY).replace("9.9.9", "9.9.10"))
    assert provider_schema.load_schema(assembly).version == "9.9.10"


@pytest.mark.parametrize("major", [5, 6])
def test_terraform_fits_the_provider(schemas, major):
    problems = provider_schema.check_tree(ROOT, schemas[major])
    assert not problems, "\n".join(map(str, problems))


def edit(path: Path, pattern: str, replacement: str) -> int:
    """Apply one regex edit to path; the number of the line just after the matched text (where an insertion lands)."""
    text = path.read_text()
    match = re.search(pattern, text)
    assert match, f"{path.name} no longer has {pattern!r}: update this test's edit"
    path.write_text(text[: match.start()] + match.expand(replacement) + text[match.end() :])
    return text.count("\n", 0, match.end()) + 1


@pytest.fixture(scope="module")
def broken(tmp_path_factory) -> tuple[Path, dict]:
    """A copy of terraform/ with known mistakes, and the line of each."""
    copy = tmp_path_factory.mktemp("provider_schema") / "terraform"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".terraform*", "terraform.tfstate*", "*_override.tf"))
    function = copy / "modules" / "lambda" / "main.tf"
    edit(function, r"\n *role *= *aws_iam_role\.this\.arn\n", "\n")  # the function's required role (edits go top down)
    lines = {
        "unknown argument": edit(
            function, r'resource "aws_lambda_function" "this" \{\n', r"\g<0>  not_an_argument = true\n"
        ),
        "nested unknown argument": edit(
            function, r'dynamic "environment" \{(?:.|\n)*?content \{\n', r"\g<0>      not_a_setting = 1\n"
        ),
    }
    lines["function"] = lines["unknown argument"] - 1
    (copy / "modules" / "api" / "removed_in_6.tf").write_text(REMOVED_IN_6)
    return copy, lines


def found(problems: list[provider_schema.Problem], copy: Path) -> set[tuple[str, int, str]]:
    return {(problem.path.relative_to(copy).as_posix(), problem.line, problem.reason) for problem in problems}


@pytest.mark.parametrize("major", [5, 6])
def test_mistakes_are_found_with_file_and_line(schemas, broken, major):
    copy, lines = broken
    expected = {
        ("modules/lambda/main.tf", lines["unknown argument"],
         "aws_lambda_function.this: unknown argument not_an_argument"),
        ("modules/lambda/main.tf", lines["nested unknown argument"],
         "aws_lambda_function.this.environment: unknown argument not_a_setting"),
        ("modules/lambda/main.tf", lines["function"], "aws_lambda_function.this: missing required argument role"),
    }  # fmt: skip
    if major == 6:
        expected |= {
            ("modules/api/removed_in_6.tf", 2, "aws_api_gateway_deployment.this: unknown attribute invoke_url"),
            ("modules/api/removed_in_6.tf", 6, "aws_api_gateway_deployment.this: unknown attribute execution_arn"),
        }
    assert found(provider_schema.check_tree(copy, schemas[major]), copy) == expected


def test_problems_name_file_line_and_provider(schemas, broken):
    copy, _ = broken
    problem = next(p for p in provider_schema.check_tree(copy, schemas[6]) if "invoke_url" in p.reason)
    assert str(problem).endswith(
        f"removed_in_6.tf:2: hashicorp/aws {schemas[6].version}: "
        "aws_api_gateway_deployment.this: unknown attribute invoke_url"
    )


def test_command_exits_non_zero_on_a_problem(schemas, broken, capsys, monkeypatch):
    copy, _ = broken
    monkeypatch.setattr(provider_schema, "load_pinned_schemas", lambda: list(schemas.values()))
    assert provider_schema.main(["check", str(ROOT)]) == 0
    assert provider_schema.main(["check", str(copy)]) == 1
    assert "unknown attribute invoke_url" in capsys.readouterr().out
