"""start_payment against moto: validation, idempotent starts (sent or derived keys), replays, refusals, and what it
logs."""

import json

import pytest

from payproc import payment_intake
from payproc.payments import payment_id_for
from tests.helpers.handlers import (
    recorded_event,
    answer,
    pay_event,
    payments_table,
    put_bill,
    step_functions_down,
    CARD,
    TUTORIAL_PAGE_BODY,
    FakeContext,
    api_event,
    load_handler,
)


def test_accepted_payment_starts_one_execution_without_the_card(payments_aws):
    put_bill()
    start = load_handler("start_payment").handler
    code, body = answer(start(pay_event(), FakeContext()))
    payment_id = payment_id_for("key-1")
    assert (code, body) == (
        202,
        {"PaymentId": payment_id, "Status": "accepted", "StatusUrl": f"/payments/{payment_id}"},
    )
    executions = payments_aws["sfn"].list_executions(stateMachineArn=payments_aws["arn"])["executions"]
    assert [e["name"] for e in executions] == [payment_id]
    execution_input = json.loads(
        payments_aws["sfn"].describe_execution(executionArn=executions[0]["executionArn"])["input"]
    )
    assert execution_input["waitSeconds"] == 3 and execution_input["amount"] == "125.50"
    assert execution_input["alerts"] == ["email", "text"]  # the workflow's SendAlerts map, from Choices "both"
    assert (execution_input["cardBrand"], execution_input["cardLast4"]) == ("Visa", "1111")
    item = payments_table().get_item(Key={"PaymentId": payment_id})["Item"]
    assert CARD not in json.dumps(execution_input) and CARD not in json.dumps(item, default=str)
    assert item["Status"] == "accepted" and item["ExecutionArn"] == executions[0]["executionArn"]


def started_input(payments_aws, payment_id):
    arn = next(
        e["executionArn"]
        for e in payments_aws["sfn"].list_executions(stateMachineArn=payments_aws["arn"])["executions"]
        if e["name"] == payment_id
    )
    return json.loads(payments_aws["sfn"].describe_execution(executionArn=arn)["input"])


def test_wait_seconds_of_the_request_go_to_the_workflow_and_survive_a_restart(payments_aws, monkeypatch):
    put_bill()
    handler = load_handler("start_payment")
    original = payment_intake.start_workflow
    monkeypatch.setattr(payment_intake, "start_workflow", step_functions_down)
    assert answer(handler.handler(pay_event(WaitSeconds=10), FakeContext()))[0] == 500
    monkeypatch.setattr(payment_intake, "start_workflow", original)
    monkeypatch.setenv("PAYMENT_WAIT_SECONDS", "7")  # the server's wait changed in between: the request's still holds
    from payproc.config import reload_settings

    reload_settings()
    assert answer(handler.handler(pay_event(WaitSeconds=10), FakeContext()))[0] == 202
    assert started_input(payments_aws, payment_id_for("key-1"))["waitSeconds"] == 10


def test_above_the_servers_maximum_wait_is_400_naming_it(payments_aws, monkeypatch):
    put_bill()
    monkeypatch.setenv("PAYMENT_MAX_WAIT_SECONDS", "20")
    from payproc.config import reload_settings

    reload_settings()
    start = load_handler("start_payment").handler
    code, body = answer(start(pay_event(WaitSeconds=21), FakeContext()))
    assert code == 400 and "from 0 to 20" in body["errors"]["WaitSeconds"]
    assert answer(start(pay_event(WaitSeconds=20), FakeContext()))[0] == 202


def test_the_same_key_with_another_wait_is_another_request(payments_aws):
    put_bill()
    start = load_handler("start_payment").handler
    assert answer(start(pay_event(WaitSeconds=10), FakeContext()))[0] == 202
    assert answer(start(pay_event(WaitSeconds=10), FakeContext()))[0] == 202
    assert answer(start(pay_event(WaitSeconds=11), FakeContext()))[0] == 422


def test_the_same_key_and_body_replays_and_starts_nothing_more(payments_aws):
    put_bill()
    start = load_handler("start_payment").handler
    first, second = answer(start(pay_event(), FakeContext())), answer(start(pay_event(), FakeContext()))
    assert first == second and first[0] == 202
    assert len(payments_aws["sfn"].list_executions(stateMachineArn=payments_aws["arn"])["executions"]) == 1


def test_the_same_key_with_another_body_is_422(payments_aws):
    put_bill()
    start = load_handler("start_payment").handler
    assert answer(start(pay_event(), FakeContext()))[0] == 202
    code, body = answer(start(pay_event(Choices="email"), FakeContext()))
    assert code == 422 and "Idempotency-Key" in body["errors"]
    code, _ = answer(start(pay_event(CardNumber="5555555555554444"), FakeContext()))
    assert code == 422


def test_a_stored_but_unstarted_payment_is_started_by_the_replay(payments_aws, monkeypatch):
    put_bill()
    handler = load_handler("start_payment")
    original = payment_intake.start_workflow
    monkeypatch.setattr(payment_intake, "start_workflow", step_functions_down)
    assert answer(handler.handler(pay_event(), FakeContext()))[0] == 500
    monkeypatch.setattr(payment_intake, "start_workflow", original)
    assert answer(handler.handler(pay_event(), FakeContext()))[0] == 202
    assert len(payments_aws["sfn"].list_executions(stateMachineArn=payments_aws["arn"])["executions"]) == 1


@pytest.mark.parametrize(
    "setup, overrides, status, field",
    [
        ({}, {"BillingAmount": "1.00"}, 400, "BillingAmount"),
        ({}, {"CVV": "123"}, 400, "CVV"),
        ({}, {"CardNumber": "4111111111111112"}, 400, "CardNumber"),
        ({"processed": 1, "balance": "0"}, {"BillingAmount": "10.00"}, 409, None),
        ({"invoice_id": 18}, {}, 404, None),
    ],
)
def test_refusals_start_nothing(payments_aws, setup, overrides, status, field):
    put_bill(**setup)
    code, body = answer(load_handler("start_payment").handler(pay_event(**overrides), FakeContext()))
    assert code == status and (field is None or field in body["errors"])
    assert payments_aws["sfn"].list_executions(stateMachineArn=payments_aws["arn"])["executions"] == []
    assert payments_table().scan()["Items"] == []


def test_a_malformed_key_or_a_missing_body_is_400(payments_aws):
    start = load_handler("start_payment").handler
    code, body = answer(start(pay_event(key="has space"), FakeContext()))
    assert code == 400 and "Idempotency-Key" in body["errors"]
    event = pay_event()
    event["body"] = "[1, 2]"
    assert answer(start(event, FakeContext()))[0] == 400


def tutorial_page_post(**overrides):
    return api_event(
        "POST", "/paymentbalance", json.dumps({**TUTORIAL_PAGE_BODY, **overrides}), {"Content-type": "application/json"}
    )


def test_the_tutorials_page_posting_twice_without_a_key_is_one_payment_with_one_answer(payments_aws, log_lines):
    put_bill()
    start = load_handler("start_payment").handler
    first, second = (answer(start(tutorial_page_post(), FakeContext())) for _ in range(2))
    assert first == second and first[0] == 202
    [execution] = payments_aws["sfn"].list_executions(stateMachineArn=payments_aws["arn"])["executions"]
    assert execution["name"] == first[1]["PaymentId"]
    assert started_input(payments_aws, execution["name"])["waitSeconds"] == 10
    item = payments_table().get_item(Key={"PaymentId": execution["name"]})["Item"]
    assert CARD not in json.dumps(item, default=str) and CARD not in json.dumps(log_lines())


def test_without_a_key_another_card_or_amount_is_another_payment_and_other_details_are_422(payments_aws):
    put_bill()
    start = load_handler("start_payment").handler
    first = answer(start(tutorial_page_post(), FakeContext()))[1]["PaymentId"]
    other_card = answer(start(tutorial_page_post(CardNumber="5555555555554444"), FakeContext()))
    assert other_card[0] == 202 and other_card[1]["PaymentId"] != first
    assert answer(start(tutorial_page_post(BillingAmount="125.00"), FakeContext()))[1]["errors"] == {
        "BillingAmount": "must equal the balance due, 125.50"
    }  # another amount names another payment; it is wrong
    code, body = answer(start(tutorial_page_post(EmailId="someone.else@example.com"), FakeContext()))
    assert code == 422 and "already submitted with other details" in body["errors"]["body"]
    assert len(payments_aws["sfn"].list_executions(stateMachineArn=payments_aws["arn"])["executions"]) == 2


def test_a_sent_key_and_a_derived_one_name_different_payments(payments_aws):
    put_bill()
    start = load_handler("start_payment").handler
    keyed = answer(start(pay_event(**TUTORIAL_PAGE_BODY), FakeContext()))
    derived = answer(start(tutorial_page_post(), FakeContext()))
    assert keyed[0] == derived[0] == 202 and keyed[1]["PaymentId"] == payment_id_for("key-1") != derived[1]["PaymentId"]


def test_start_payment_lines_carry_the_payment_id_and_never_the_card_number(payments_aws, log_lines, monkeypatch):
    put_bill()
    handler = load_handler("start_payment")
    assert answer(handler.handler(pay_event(key="key-1"), FakeContext()))[0] == 202
    monkeypatch.setattr(payment_intake, "start_workflow", step_functions_down)
    assert answer(handler.handler(pay_event(key="key-2"), FakeContext()))[0] == 500  # its traceback is logged
    lines = log_lines()
    assert [line["message"] for line in lines] == ["payment_accepted", "unhandled_error"]
    assert [line["PaymentId"] for line in lines] == [payment_id_for("key-1"), payment_id_for("key-2")]
    assert lines[0]["card"] == "Visa ending 1111" and "Step Functions is down" in lines[1]["exception"]
    assert CARD not in json.dumps(lines)


def test_the_request_the_local_stack_delivers_is_accepted_and_logged_with_its_request_id(payments_aws, log_lines):
    put_bill()
    event = recorded_event("api_gateway_start_payment.json")
    assert answer(load_handler("start_payment").handler(event, FakeContext()))[0] == 202
    [accepted] = [line for line in log_lines() if line["message"] == "payment_accepted"]
    assert accepted["correlation_id"] == event["requestContext"]["requestId"]
    assert accepted["PaymentId"] == payment_id_for(event["headers"]["Idempotency-Key"])


def test_past_the_invoices_failed_attempts_it_is_locked_with_429_and_says_so(payments_aws, monkeypatch):
    from payproc import limits

    put_bill()
    start = load_handler("start_payment").handler
    assert start(pay_event(key="first"), FakeContext())["statusCode"] == 202
    client = "127.0.0.1"  # the recorded request's sourceIp
    invoice = limits.failed_payment_limits(client, 17, "any card")[1]
    limits.add([invoice] * 5)  # the default: 5 declines of one invoice an hour
    refused = start(pay_event(key="second"), FakeContext())
    code, body = answer(refused)
    assert code == 429 and body["message"].startswith("invoice 17 is locked after too many failed payment attempts")
    assert 1 <= int(refused["headers"]["Retry-After"]) <= 3600
