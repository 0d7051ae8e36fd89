"""The payment functions against moto: balance lookups, idempotent starts, the commit transaction, alerts, failures."""

import json
import uuid
from decimal import Decimal

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from payproc import aws, payment_intake, payment_store
from payproc.payment_store import PaymentRejected, TransientError
from payproc.payments import payment_id_for
from tests.helpers.handlers import (
    BALANCE_TABLE,
    CARD,
    CARD_FINGERPRINT_KEY_PARAMETER,
    ORIGIN,
    PAYMENTS_TABLE,
    REGION,
    SENDER,
    TUTORIAL_PAGE_BODY,
    FakeContext,
    after_next_call,
    api_event,
    create_tables,
    fail_next_call,
    load_handler,
    use_mock_environment,
)


@pytest.fixture
def stack(monkeypatch):
    use_mock_environment(monkeypatch)
    with mock_aws():
        create_tables()
        sfn = boto3.client("stepfunctions", region_name=REGION)
        definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})
        arn = sfn.create_state_machine(
            name="test-payment", roleArn="arn:aws:iam::123456789012:role/sfn", definition=definition
        )["stateMachineArn"]
        monkeypatch.setenv("STATE_MACHINE_ARN", arn)
        from payproc.config import reload_settings

        reload_settings()
        boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=SENDER)
        boto3.client("ssm", region_name=REGION).put_parameter(
            Name=CARD_FINGERPRINT_KEY_PARAMETER, Value="a-test-secret", Type="SecureString"
        )
        yield {"sfn": sfn, "arn": arn}


def step_functions_down(item):
    raise RuntimeError("Step Functions is down")


def balance_table():
    return boto3.resource("dynamodb", region_name=REGION).Table(BALANCE_TABLE)


def payments_table():
    return boto3.resource("dynamodb", region_name=REGION).Table(PAYMENTS_TABLE)


def put_bill(invoice_id=17, balance="125.50", processed=0, name="Ada Lovelace"):
    balance_table().put_item(
        Item={"InvoiceID": invoice_id, "CustomerName": name, "Balance": Decimal(balance), "IsProcessed": processed}
    )


def pay_event(key="key-1", **overrides):
    body = {
        "InvoiceID": 17,
        "BillersName": "Ada Lovelace",
        "BillingAmount": "125.50",
        "CardNumber": CARD,
        "ExpiryDate": "12/39",
        "EmailId": "ada@example.com",
        "PhnNumber": "+15551234567",
        "Choices": "both",
    }
    body.update(overrides)
    headers = {"idempotency-key": key} if key else {}
    return api_event("POST", "/paymentbalance", json.dumps(body), headers)


def answer(response):
    return response["statusCode"], json.loads(response["body"])


# --- get_balance ---------------------------------------------------------------------------------------------------


def test_get_balance_both_routes(stack):
    put_bill(balance="42.1", name="Grace, Hopper")
    get_balance = load_handler("get_balance").handler
    by_path = get_balance(api_event("GET", "/paymentbalance/17", path_parameters={"InvoiceID": "17"}), FakeContext())
    by_query = get_balance(api_event("GET", "/paymentbalance/id", query={"InvoiceID": "17"}), FakeContext())
    assert (
        answer(by_path)
        == answer(by_query)
        == (200, {"InvoiceID": 17, "CustomerName": "Grace, Hopper", "Balance": "42.10", "IsProcessed": 0})
    )
    assert by_path["headers"]["Access-Control-Allow-Origin"] == ORIGIN


@pytest.mark.parametrize(
    "raw, status", [("abc", 400), ("0", 400), ("-1", 400), ("1.5", 400), ("1e9", 400), (None, 400), ("99", 404)]
)
def test_get_balance_errors(stack, raw, status):
    event = api_event("GET", "/paymentbalance/id", query={"InvoiceID": raw} if raw else None)
    code, body = answer(load_handler("get_balance").handler(event, FakeContext()))
    assert code == status and ("InvoiceID" in body.get("errors", {}) if status == 400 else True)


# --- start_payment -------------------------------------------------------------------------------------------------


def test_accepted_payment_starts_one_execution_without_the_card(stack):
    put_bill()
    start = load_handler("start_payment").handler
    code, body = answer(start(pay_event(), FakeContext()))
    payment_id = payment_id_for("key-1")
    assert (code, body) == (
        202,
        {"PaymentId": payment_id, "Status": "accepted", "StatusUrl": f"/payments/{payment_id}"},
    )
    executions = stack["sfn"].list_executions(stateMachineArn=stack["arn"])["executions"]
    assert [e["name"] for e in executions] == [payment_id]
    execution_input = json.loads(stack["sfn"].describe_execution(executionArn=executions[0]["executionArn"])["input"])
    assert execution_input["waitSeconds"] == 3 and execution_input["amount"] == "125.50"
    assert execution_input["alerts"] == ["email", "text"]  # the workflow's SendAlerts map, from Choices "both"
    assert (execution_input["cardBrand"], execution_input["cardLast4"]) == ("Visa", "1111")
    item = payments_table().get_item(Key={"PaymentId": payment_id})["Item"]
    assert CARD not in json.dumps(execution_input) and CARD not in json.dumps(item, default=str)
    assert item["Status"] == "accepted" and item["ExecutionArn"] == executions[0]["executionArn"]


def started_input(stack, payment_id):
    arn = next(
        e["executionArn"]
        for e in stack["sfn"].list_executions(stateMachineArn=stack["arn"])["executions"]
        if e["name"] == payment_id
    )
    return json.loads(stack["sfn"].describe_execution(executionArn=arn)["input"])


def test_wait_seconds_of_the_request_go_to_the_workflow_and_survive_a_restart(stack, monkeypatch):
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
    assert started_input(stack, payment_id_for("key-1"))["waitSeconds"] == 10


def test_above_the_servers_maximum_wait_is_400_naming_it(stack, monkeypatch):
    put_bill()
    monkeypatch.setenv("PAYMENT_MAX_WAIT_SECONDS", "20")
    from payproc.config import reload_settings

    reload_settings()
    start = load_handler("start_payment").handler
    code, body = answer(start(pay_event(WaitSeconds=21), FakeContext()))
    assert code == 400 and "from 0 to 20" in body["errors"]["WaitSeconds"]
    assert answer(start(pay_event(WaitSeconds=20), FakeContext()))[0] == 202


def test_the_same_key_with_another_wait_is_another_request(stack):
    put_bill()
    start = load_handler("start_payment").handler
    assert answer(start(pay_event(WaitSeconds=10), FakeContext()))[0] == 202
    assert answer(start(pay_event(WaitSeconds=10), FakeContext()))[0] == 202
    assert answer(start(pay_event(WaitSeconds=11), FakeContext()))[0] == 422


def test_the_same_key_and_body_replays_and_starts_nothing_more(stack):
    put_bill()
    start = load_handler("start_payment").handler
    first, second = answer(start(pay_event(), FakeContext())), answer(start(pay_event(), FakeContext()))
    assert first == second and first[0] == 202
    assert len(stack["sfn"].list_executions(stateMachineArn=stack["arn"])["executions"]) == 1


def test_the_same_key_with_another_body_is_422(stack):
    put_bill()
    start = load_handler("start_payment").handler
    assert answer(start(pay_event(), FakeContext()))[0] == 202
    code, body = answer(start(pay_event(Choices="email"), FakeContext()))
    assert code == 422 and "Idempotency-Key" in body["errors"]
    code, _ = answer(start(pay_event(CardNumber="5555555555554444"), FakeContext()))
    assert code == 422


def test_a_stored_but_unstarted_payment_is_started_by_the_replay(stack, monkeypatch):
    put_bill()
    handler = load_handler("start_payment")
    original = payment_intake.start_workflow
    monkeypatch.setattr(payment_intake, "start_workflow", step_functions_down)
    assert answer(handler.handler(pay_event(), FakeContext()))[0] == 500
    monkeypatch.setattr(payment_intake, "start_workflow", original)
    assert answer(handler.handler(pay_event(), FakeContext()))[0] == 202
    assert len(stack["sfn"].list_executions(stateMachineArn=stack["arn"])["executions"]) == 1


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
def test_refusals_start_nothing(stack, setup, overrides, status, field):
    put_bill(**setup)
    code, body = answer(load_handler("start_payment").handler(pay_event(**overrides), FakeContext()))
    assert code == status and (field is None or field in body["errors"])
    assert stack["sfn"].list_executions(stateMachineArn=stack["arn"])["executions"] == []
    assert payments_table().scan()["Items"] == []


def test_a_malformed_key_or_a_missing_body_is_400(stack):
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


def test_the_tutorials_page_posting_twice_without_a_key_is_one_payment_with_one_answer(stack, log_lines):
    put_bill()
    start = load_handler("start_payment").handler
    first, second = (answer(start(tutorial_page_post(), FakeContext())) for _ in range(2))
    assert first == second and first[0] == 202
    [execution] = stack["sfn"].list_executions(stateMachineArn=stack["arn"])["executions"]
    assert execution["name"] == first[1]["PaymentId"]
    assert started_input(stack, execution["name"])["waitSeconds"] == 10
    item = payments_table().get_item(Key={"PaymentId": execution["name"]})["Item"]
    assert CARD not in json.dumps(item, default=str) and CARD not in json.dumps(log_lines())


def test_without_a_key_another_card_or_amount_is_another_payment_and_other_details_are_422(stack):
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
    assert len(stack["sfn"].list_executions(stateMachineArn=stack["arn"])["executions"]) == 2


def test_a_sent_key_and_a_derived_one_name_different_payments(stack):
    put_bill()
    start = load_handler("start_payment").handler
    keyed = answer(start(pay_event(**TUTORIAL_PAGE_BODY), FakeContext()))
    derived = answer(start(tutorial_page_post(), FakeContext()))
    assert keyed[0] == derived[0] == 202 and keyed[1]["PaymentId"] == payment_id_for("key-1") != derived[1]["PaymentId"]


# --- the workflow's functions --------------------------------------------------------------------------------------


def accepted_payment(stack, choices="both", key=None):
    key = key or str(uuid.uuid4())
    put_bill()
    answer(load_handler("start_payment").handler(pay_event(key=key, Choices=choices), FakeContext()))
    executions = stack["sfn"].list_executions(stateMachineArn=stack["arn"])["executions"]
    execution = next(e for e in executions if e["name"] == payment_id_for(key))
    return json.loads(stack["sfn"].describe_execution(executionArn=execution["executionArn"])["input"])


def test_the_commit_wins_once_and_a_repeat_changes_nothing(stack):
    payment = accepted_payment(stack)
    process = load_handler("process_payment").handler
    assert process({"payment": payment, "executionArn": "arn:exec"}, FakeContext())["status"] == "paid"
    assert process({"payment": payment, "executionArn": "arn:exec"}, FakeContext())["status"] == "paid"  # a retry
    bill = balance_table().get_item(Key={"InvoiceID": 17})["Item"]
    assert (bill["Balance"], bill["IsProcessed"]) == (0, 1)
    item = payments_table().get_item(Key={"PaymentId": payment["paymentId"]})["Item"]
    assert item["Status"] == "paid" and item["ExecutionArn"] == "arn:exec" and item["PaidAt"]


def test_a_second_payment_of_a_paid_invoice_is_rejected_by_name(stack):
    first = accepted_payment(stack)
    second = accepted_payment(stack)  # accepted while the first had not run yet
    process = load_handler("process_payment").handler
    process({"payment": first}, FakeContext())
    with pytest.raises(PaymentRejected, match="already paid") as rejected:
        process({"payment": second}, FakeContext())
    assert type(rejected.value).__name__ == "PaymentRejected"  # the name the workflow's Catch matches
    assert payments_table().get_item(Key={"PaymentId": second["paymentId"]})["Item"]["Status"] == "accepted"


def test_a_changed_balance_rejects_the_payment(stack):
    payment = accepted_payment(stack)
    put_bill(balance="130.00")
    with pytest.raises(PaymentRejected, match="130.00"):
        load_handler("process_payment").handler({"payment": payment}, FakeContext())


@pytest.mark.parametrize(
    "code, reasons",
    [
        ("ProvisionedThroughputExceededException", ()),
        ("InternalServerError", ()),
        ("TransactionCanceledException", ("TransactionConflict", "None")),
        ("TransactionCanceledException", ("None", "ThrottlingError")),
    ],
)
def test_a_transient_error_of_the_commit_is_retried_by_name_and_the_retry_commits(stack, code, reasons):
    payment = accepted_payment(stack)
    process = load_handler("process_payment").handler
    fail_next_call(aws.dynamodb(), "TransactWriteItems", code, reasons)
    with pytest.raises(TransientError) as transient:
        process({"payment": payment}, FakeContext())
    assert type(transient.value).__name__ == "TransientError"  # the name the workflow's Retry matches
    assert balance_table().get_item(Key={"InvoiceID": 17})["Item"]["IsProcessed"] == 0  # nothing written
    assert process({"payment": payment}, FakeContext())["status"] == "paid"  # the workflow's retry


def test_another_error_of_the_commit_is_neither_transient_nor_a_rejection(stack):
    payment = accepted_payment(stack)
    fail_next_call(aws.dynamodb(), "TransactWriteItems", "ValidationException")
    with pytest.raises(ClientError, match="ValidationException"):
        load_handler("process_payment").handler({"payment": payment}, FakeContext())


@pytest.mark.parametrize(
    "meanwhile, reason",
    [
        (
            lambda payment: payments_table().update_item(
                Key={"PaymentId": payment["paymentId"]},
                UpdateExpression="SET #s = :failed",
                ExpressionAttributeNames={"#s": "Status"},
                ExpressionAttributeValues={":failed": "failed"},
            ),
            "is failed, not accepted",
        ),
        (lambda payment: balance_table().delete_item(Key={"InvoiceID": 17}), "invoice 17 no longer exists"),
    ],
    ids=["payment-failed-meanwhile", "invoice-deleted"],
)
def test_a_payment_no_longer_accepted_or_a_deleted_invoice_is_rejected_by_name(stack, meanwhile, reason):
    payment = accepted_payment(stack)
    meanwhile(payment)
    with pytest.raises(PaymentRejected, match=reason):
        load_handler("process_payment").handler({"payment": payment}, FakeContext())


def test_two_alerts_finishing_together_mark_the_payment_notified_once(stack):
    payment = accepted_payment(stack, choices="both")
    load_handler("process_payment").handler({"payment": payment}, FakeContext())
    pid = payment["paymentId"]
    payment_store.record_alert_sent(PAYMENTS_TABLE, pid, "email")
    # The text alert's flag lands; before it marks the payment notified, the email step (seeing both sent) does.
    after_next_call(
        aws.table(PAYMENTS_TABLE).meta.client,
        "UpdateItem",
        lambda: payments_table().update_item(
            Key={"PaymentId": pid},
            UpdateExpression="SET #s = :n",
            ExpressionAttributeNames={"#s": "Status"},
            ExpressionAttributeValues={":n": "notified"},
        ),
    )
    assert payment_store.record_alert_sent(PAYMENTS_TABLE, pid, "text") == "notified"
    assert payments_table().get_item(Key={"PaymentId": pid})["Item"]["Status"] == "notified"


def test_record_failure_marks_an_uncommitted_payment_failed_with_the_reason(stack):
    payment = accepted_payment(stack)
    cause = json.dumps({"errorMessage": "invoice 17 is already paid", "errorType": "PaymentRejected"})
    error = {"Error": "PaymentRejected", "Cause": cause}
    load_handler("record_failure").handler({"payment": payment, "stage": "payment", "error": error}, FakeContext())
    status = load_handler("payment_status").handler(
        api_event("GET", "/payments/x", path_parameters={"PaymentId": payment["paymentId"]}), FakeContext()
    )
    code, body = answer(status)
    assert (
        code == 200 and body["Status"] == "failed" and body["Reason"] == "PaymentRejected: invoice 17 is already paid"
    )


def test_record_failure_never_marks_a_paid_payment_failed(stack):
    payment = accepted_payment(stack)
    load_handler("process_payment").handler({"payment": payment}, FakeContext())
    result = load_handler("record_failure").handler(
        {"payment": payment, "stage": "payment", "error": {"Error": "States.Timeout"}}, FakeContext()
    )
    assert result["recorded"] is False
    assert payments_table().get_item(Key={"PaymentId": payment["paymentId"]})["Item"]["Status"] == "paid"


def test_both_alerts_sent_make_the_payment_notified(stack):
    payment = accepted_payment(stack, choices="both")
    load_handler("process_payment").handler({"payment": payment}, FakeContext())
    assert load_handler("send_email").handler({"payment": payment, "channel": "email"}, FakeContext()) == {
        "email": "sent",
        "status": "paid",
    }
    assert load_handler("send_text").handler({"payment": payment, "channel": "text"}, FakeContext()) == {
        "text": "sent",
        "status": "notified",
    }
    code, body = answer(
        load_handler("payment_status").handler(
            api_event("GET", "/payments/x", path_parameters={"PaymentId": payment["paymentId"]}), FakeContext()
        )
    )
    assert code == 200 and body["Status"] == "notified"
    assert body["Notifications"] == {"email": "sent", "text": "sent"}
    assert (body["CardBrand"], body["CardLast4"], body["Amount"]) == ("Visa", "1111", "125.50")
    assert "RequestHash" not in body and "EmailId" not in body


def test_a_failed_alert_is_recorded_and_the_payment_stays_paid(stack):
    payment = accepted_payment(stack, choices="email")
    load_handler("process_payment").handler({"payment": payment}, FakeContext())
    error = {"Error": "MessageRejected", "Cause": json.dumps({"errorMessage": "Email address is not verified"})}
    load_handler("record_failure").handler({"payment": payment, "stage": "email", "error": error}, FakeContext())
    item = payments_table().get_item(Key={"PaymentId": payment["paymentId"]})["Item"]
    assert item["Status"] == "paid" and item["Notifications"] == {"email": "failed"}
    assert "not verified" in item["NotificationErrors"]["email"]
    bill = balance_table().get_item(Key={"InvoiceID": 17})["Item"]
    assert bill["IsProcessed"] == 1


def test_the_alert_says_amount_and_invoice(stack):
    from payproc.payments import alert_text

    text = alert_text({"amount": "125.50", "invoiceId": 17, "cardBrand": "Visa", "cardLast4": "1111", "paymentId": "p"})
    assert "125.50" in text and "17" in text and CARD not in text


@pytest.mark.parametrize("payment_id, status", [("0" * 32, 404), ("nothex", 400), ("", 400)])
def test_payment_status_errors(stack, payment_id, status):
    event = api_event("GET", "/payments/x", path_parameters={"PaymentId": payment_id})
    assert answer(load_handler("payment_status").handler(event, FakeContext()))[0] == status


# --- logs and metrics ------------------------------------------------------------------------------------------------


def test_start_payment_lines_carry_the_payment_id_and_never_the_card_number(stack, log_lines, monkeypatch):
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


def test_every_line_of_the_workflows_functions_carries_the_payment_id(stack, log_lines):
    payment = accepted_payment(stack, choices="both")
    load_handler("process_payment").handler({"payment": payment}, FakeContext())
    load_handler("send_email").handler({"payment": payment, "channel": "email"}, FakeContext())
    load_handler("send_text").handler({"payment": payment, "channel": "text"}, FakeContext())
    error = {"Error": "Throttled", "Cause": json.dumps({"errorMessage": "try later"})}
    load_handler("record_failure").handler({"payment": payment, "stage": "text", "error": error}, FakeContext())
    lines = log_lines()
    assert [line["message"] for line in lines] == [
        "payment_accepted",
        "payment_committed",
        "email_sent",
        "text_sent",
        "failure_recorded",
    ]
    assert {line["PaymentId"] for line in lines} == {payment["paymentId"]}
    assert len({line["function_request_id"] for line in lines}) == 5  # one invocation each
    assert CARD not in json.dumps(lines)


def test_record_failure_counts_the_failed_payment_as_emf(stack, metric_documents):
    payment = accepted_payment(stack)
    error = {"Error": "PaymentRejected", "Cause": json.dumps({"errorMessage": "invoice 17 is already paid"})}
    load_handler("record_failure").handler({"payment": payment, "stage": "payment", "error": error}, FakeContext())
    [document] = metric_documents()
    [directive] = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "PayprocTest"  # POWERTOOLS_METRICS_NAMESPACE
    assert directive["Dimensions"] == [["service"]] and document["service"] == "payproc-test"  # POWERTOOLS_SERVICE_NAME
    assert directive["Metrics"] == [{"Name": "PaymentsFailed", "Unit": "Count"}]
    assert document["PaymentsFailed"] == [1.0]


def test_a_commit_counts_once_and_a_paid_payment_never_counts_as_failed(stack, metric_documents):
    payment = accepted_payment(stack)
    process = load_handler("process_payment").handler
    process({"payment": payment}, FakeContext())
    process({"payment": payment}, FakeContext())  # a retry: already paid, commits nothing
    timeout = {"payment": payment, "stage": "payment", "error": {"Error": "States.Timeout"}}
    assert load_handler("record_failure").handler(timeout, FakeContext())["recorded"] is False
    documents = metric_documents()
    assert [document["_aws"]["CloudWatchMetrics"][0]["Metrics"] for document in documents] == [
        [{"Name": "PaymentsSucceeded", "Unit": "Count"}]
    ]
    assert documents[0]["PaymentsSucceeded"] == [1.0]
