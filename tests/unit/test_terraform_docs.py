"""The Inputs and Outputs tables of terraform/README.md and of each module's README are what `make docs` generates from
variables.tf and outputs.tf, and every variable and output has a description (stack/terraform/module_docs.py)."""

from __future__ import annotations

import sys

import pytest

from tests.helpers.handlers import REPO

sys.path.insert(0, str(REPO / "stack" / "terraform"))

import module_docs  # noqa: E402


def test_every_modules_readme_has_the_tables_of_its_code():
    assert len(module_docs.modules()) == 11
    assert [str(readme.relative_to(REPO)) for readme in module_docs.readmes_to_write()] == [], "run `make docs`"


def test_a_variable_or_output_without_a_description_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(module_docs, "REPO", tmp_path)
    (tmp_path / "variables.tf").write_text(
        'variable "documented" {\n  description = "Yes."\n  type = string\n}\nvariable "bare" {\n  type = number\n}\n'
    )
    (tmp_path / "outputs.tf").write_text('output "id" {\n  value = 1\n}\n')
    with pytest.raises(module_docs.UndocumentedError, match="variable bare, output id"):
        module_docs.tables(tmp_path)


def test_the_tables_show_type_default_and_a_heredoc_description_on_one_line(tmp_path):
    (tmp_path / "variables.tf").write_text(
        'variable "alarms" {\n  description = <<-EOT\n    Two lines\n    of text.\n  EOT\n'
        "  type = map(object({ threshold = optional(number, 0) }))\n  default = { a = { threshold = 1 } }\n}\n"
        'variable "name" {\n  description = "A | name."\n  type = string\n}\n'
    )
    lines = module_docs.tables(tmp_path).splitlines()
    assert "| `alarms` | Two lines of text. | `map(object({threshold = optional(number, 0)}))` |" in lines[4]
    assert lines[5] == "| `name` | A \\| name. | `string` | required |"
