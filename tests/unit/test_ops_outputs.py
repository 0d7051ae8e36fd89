"""The ops tools read the local deployment's outputs and an AWS deployment's `terraform output -json` alike."""

from __future__ import annotations

import json

import pytest

from ops.outputs import read_outputs


def test_the_local_outputs_and_terraforms_json_give_the_same_values(tmp_path):
    local = {"function_names": {"start_payment": "p-start-payment"}, "payments_table": "p-Payments"}
    terraform = {name: {"sensitive": False, "type": "string", "value": value} for name, value in local.items()}
    (tmp_path / "local.json").write_text(json.dumps(local))
    (tmp_path / "terraform.json").write_text(json.dumps(terraform))
    assert read_outputs(str(tmp_path / "local.json")) == read_outputs(str(tmp_path / "terraform.json")) == local


def test_no_outputs_says_to_deploy_or_pass_them(tmp_path):
    with pytest.raises(SystemExit, match="deploy first"):
        read_outputs(str(tmp_path / "missing.json"))
