"""workflow/payment.asl.json as modules/workflow renders it: one retry policy written once, every task given the
execution input as `payment`, the alerts as one Map over the chosen channels. (Its behaviour on the stack:
tests/integration/test_payments.py, tests/reliability/test_faults.py.)"""

import json
import re

from payproc.payments import State, new_payment_item
from tests.helpers.handlers import REPO

ASL = REPO / "workflow" / "payment.asl.json"
PLACEHOLDERS = {
    "process_payment_arn",
    "record_failure_arn",
    "send_alert_function_arn_prefix",
    "task_retry",
    "charge_retry",
}
TASK_RETRY = [{"ErrorEquals": ["TransientError"], "IntervalSeconds": 1, "MaxAttempts": 5, "BackoffRate": 2}]
CHARGE_RETRY = [
    {"ErrorEquals": ["ProcessorUnavailable"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 2},
    *TASK_RETRY,
]


def machine() -> dict:
    """The definition with its placeholders filled as Terraform's templatefile fills them."""
    values = {name: f"arn:{name}" for name in PLACEHOLDERS} | {
        "task_retry": json.dumps(TASK_RETRY),
        "charge_retry": json.dumps(CHARGE_RETRY),
    }
    return json.loads(re.sub(r"\$\{(\w+)\}", lambda match: values[match.group(1)], ASL.read_text()))


def all_states(states: dict):
    for name, state in states.items():
        yield name, state
        if "ItemProcessor" in state:
            yield from all_states(state["ItemProcessor"]["States"])


def test_it_has_only_the_modules_placeholders():
    text = ASL.read_text()
    assert set(re.findall(r"\$\{([^}]*)\}", text)) == PLACEHOLDERS
    assert "%{" not in text


def test_wait_commit_then_the_alerts_and_a_failure_is_recorded_then_fails():
    top = machine()
    states = top["States"]
    assert top["StartAt"] == "WaitBeforeProcessing"
    assert states["WaitBeforeProcessing"] == {
        **states["WaitBeforeProcessing"],
        "Type": "Wait",
        "SecondsPath": "$.waitSeconds",
        "Next": "ProcessPayment",
    }
    process = states["ProcessPayment"]
    assert process["Resource"] == "arn:process_payment_arn" and process["Next"] == "SendAlerts"
    assert process["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RecordPaymentFailure"}
    ]
    record = states["RecordPaymentFailure"]
    assert record["Parameters"]["stage"] == "payment" and record["Parameters"]["error.$"] == "$.error"
    assert states[record["Next"]]["Type"] == "Fail"
    assert states["SendAlerts"]["Type"] == "Map" and states["SendAlerts"]["ItemsPath"] == "$.alerts"
    assert states["SendAlerts"].get("End") is True


def test_the_retry_policy_is_written_once_and_used_by_every_task_that_must_not_fail_on_a_transient_error():
    retried = {name for name, state in all_states(machine()["States"]) if state.get("Retry") == TASK_RETRY}
    assert retried == {"RecordPaymentFailure", "RecordAlertFailure"}
    assert ASL.read_text().count('"Retry": ${task_retry}') == 2
    # The charge retries the processor's outage first, then what every task retries.
    assert machine()["States"]["ProcessPayment"]["Retry"] == CHARGE_RETRY


def test_every_task_gets_the_execution_input_as_payment():
    tasks = {name: state for name, state in all_states(machine()["States"]) if state["Type"] == "Task"}
    assert set(tasks) == {"ProcessPayment", "RecordPaymentFailure", "SendAlert", "RecordAlertFailure"}
    for name, task in tasks.items():
        parameters = task["Parameters"].get("Payload", task["Parameters"])
        assert parameters["payment.$"] == "$$.Execution.Input", name


def test_each_alert_runs_on_send_channel_and_a_failed_one_is_recorded_and_ends_its_branch():
    alerts = machine()["States"]["SendAlerts"]["ItemProcessor"]["States"]
    send = alerts["SendAlert"]
    assert send["Resource"] == "arn:aws:states:::lambda:invoke"
    assert send["Parameters"]["FunctionName.$"] == "States.Format('arn:send_alert_function_arn_prefix{}', $.channel)"
    assert send["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RecordAlertFailure"}]
    record = alerts["RecordAlertFailure"]
    assert record["Parameters"] == {"payment.$": "$$.Execution.Input", "stage.$": "$.channel", "error.$": "$.error"}
    assert send.get("End") is True and record.get("End") is True


def test_every_channel_a_payment_can_choose_has_its_send_function():
    class Request:  # the fields new_payment_item reads, choosing both alerts
        invoice_id, amount, billers_name, choices = 1, 1, "A", "both"
        email, phone, wait_seconds = "a@example.com", "+15551234567", None
        card = type("Card", (), {"brand": "Visa", "last4": "1111"})

        def wants_email(self):
            return True

        def wants_text(self):
            return True

    channels = new_payment_item("p", Request(), "f", "now", "test_approve", "fp", "127.0.0.2")["Notifications"]
    assert channels == {"email": State.PENDING, "text": State.PENDING}
    assert all((REPO / "functions" / f"send_{channel}" / "handler.py").exists() for channel in channels)


def test_state_names_are_unique_and_every_next_exists():
    names = [name for name, _ in all_states(machine()["States"])]
    assert len(names) == len(set(names))
    for name, state in all_states(machine()["States"]):
        targets = [state.get("Next"), state.get("Default")] + [c["Next"] for c in state.get("Catch", [])]
        assert all(target in names for target in targets if target), name
