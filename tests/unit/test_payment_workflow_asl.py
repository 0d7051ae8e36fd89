import json
import re

from tests.unit.payproc_support import REPO

ASL = REPO / "workflow" / "payment.asl.json"
PLACEHOLDERS = {"process_payment_arn", "send_email_arn", "send_text_arn", "record_failure_arn"}


def machine():
    return json.loads(ASL.read_text())


def all_states(states):
    for name, state in states.items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from all_states(branch["States"])


def test_it_is_json_with_only_the_terraform_placeholders():
    text = ASL.read_text()
    assert set(re.findall(r"\$\{([^}]*)\}", text)) == PLACEHOLDERS
    assert "%{" not in text


def test_the_seed_shape_with_retries_and_catches():
    states = machine()["States"]
    assert machine()["StartAt"] == "WaitBeforeProcessing"
    assert states["WaitBeforeProcessing"] == {**states["WaitBeforeProcessing"], "Type": "Wait",
                                              "SecondsPath": "$.waitSeconds", "Next": "ProcessPayment"}
    process = states["ProcessPayment"]
    retried = process["Retry"][0]["ErrorEquals"]
    assert {"Lambda.ServiceException", "Lambda.TooManyRequestsException", "Lambda.SdkClientException",
            "TransientError"} <= set(retried)
    assert process["Retry"][0]["BackoffRate"] > 1
    assert [c["ErrorEquals"] for c in process["Catch"]] == [["PaymentRejected"], ["States.ALL"]]
    assert {c["Next"] for c in process["Catch"]} == {"RecordFailure"}
    assert states["RecordFailure"]["Parameters"]["stage"] == "payment"
    assert states[states["RecordFailure"]["Next"]]["Type"] == "Fail"
    choice = states["ChooseAlerts"]
    assert {c["StringEquals"]: c["Next"] for c in choice["Choices"]} == {
        "email": "SendEmail", "text": "SendText", "both": "SendEmailAndText"}
    assert all(c["Variable"] == "$.choices" for c in choice["Choices"])
    assert states[choice["Default"]]["Type"] == "Fail"
    assert states["SendEmailAndText"]["Type"] == "Parallel" and len(states["SendEmailAndText"]["Branches"]) == 2
    assert states["Done"] == {"Type": "Pass", "End": True}


def test_every_alert_catches_its_error_and_records_it():
    for name, state in all_states(machine()["States"]):
        if state.get("Resource") in ("${send_email_arn}", "${send_text_arn}"):
            catch = state["Catch"]
            assert catch[0]["ErrorEquals"] == ["States.ALL"], name
            record = next(s for n, s in all_states(machine()["States"]) if n == catch[0]["Next"])
            assert record["Resource"] == "${record_failure_arn}"
            assert record["Parameters"]["stage"] in ("email", "text")
            assert state.get("Next") == record.get("Next") and state.get("End") == record.get("End")


def test_state_names_are_unique_and_every_next_exists():
    names = [name for name, _ in all_states(machine()["States"])]
    assert len(names) == len(set(names))
    for name, state in all_states(machine()["States"]):
        targets = [state.get("Next"), state.get("Default")] + [c["Next"] for c in state.get("Catch", [])]
        targets += [c["Next"] for c in state.get("Choices", [])]
        assert all(target in names for target in targets if target), name
