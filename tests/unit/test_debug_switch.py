"""The debugger switch's settings: which function DEBUG_FUNCTION names (executor's debugger.py, standard library
only, loaded from its file without LocalStack) and what `make up` makes of it (stackctl)."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from tests.helpers.stack import REPO

SOURCE = REPO / "stack" / "lambda_executor" / "src" / "localstack_process_executor" / "debugger.py"
spec = importlib.util.spec_from_file_location("executor_debugger", SOURCE)
debugger = importlib.util.module_from_spec(spec)
spec.loader.exec_module(debugger)

sys.path.insert(0, str(REPO / "stack"))
import stackctl  # noqa: E402


@pytest.mark.parametrize("switch", ["start_payment", "start-payment"])
def test_the_short_name_picks_the_function_under_any_prefix(monkeypatch, switch):
    monkeypatch.setenv("PROCESS_EXECUTOR_DEBUG_FUNCTION", switch)
    assert debugger.wanted("payproc-start-payment")
    assert debugger.wanted("bench1-start-payment")  # another deployment's copy of it: the first to start listens
    assert not debugger.wanted("payproc-payment-status")
    assert not debugger.wanted("payproc-restart-payment")


def test_the_deployed_name_picks_that_function_only(monkeypatch):
    monkeypatch.setenv("PROCESS_EXECUTOR_DEBUG_FUNCTION", "payproc-start-payment")
    assert debugger.wanted("payproc-start-payment")
    assert not debugger.wanted("bench1-start-payment")


def test_no_switch_debugs_nothing(monkeypatch):
    monkeypatch.delenv("PROCESS_EXECUTOR_DEBUG_FUNCTION", raising=False)
    assert not debugger.wanted("payproc-start-payment")


def test_the_port_defaults_to_5678(monkeypatch):
    monkeypatch.delenv("PROCESS_EXECUTOR_DEBUG_PORT", raising=False)
    assert debugger.port() == 5678
    monkeypatch.setenv("PROCESS_EXECUTOR_DEBUG_PORT", "6001")
    assert debugger.port() == 6001


def test_make_up_passes_the_switch_to_the_executor_and_lifts_the_start_up_limit(monkeypatch):
    monkeypatch.setenv("DEBUG_FUNCTION", "start_payment")
    monkeypatch.delenv("DEBUG_PORT", raising=False)
    monkeypatch.delenv("LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT", raising=False)
    settings = stackctl.embedded_environment(4566)
    assert settings["PROCESS_EXECUTOR_DEBUG_FUNCTION"] == "start_payment"
    assert settings["PROCESS_EXECUTOR_DEBUG_PORT"] == "5678"
    assert settings["LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT"] == "3600"


def test_without_the_switch_the_executor_gets_no_debugger_settings(monkeypatch):
    monkeypatch.delenv("DEBUG_FUNCTION", raising=False)
    monkeypatch.delenv("LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT", raising=False)
    settings = stackctl.embedded_environment(4566)
    assert "PROCESS_EXECUTOR_DEBUG_FUNCTION" not in settings
    assert "LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT" not in settings


def test_the_switch_picks_the_embedded_stack_and_refuses_docker(monkeypatch):
    monkeypatch.setenv("DEBUG_FUNCTION", "start_payment")
    monkeypatch.setattr(stackctl, "docker_engine_answers", lambda: True)
    assert stackctl.choose_mode("auto") == "embedded"
    with pytest.raises(SystemExit, match="embedded stack only"):
        stackctl.choose_mode("docker")
