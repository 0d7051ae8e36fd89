"""process_payment against moto: the commit transaction wins once, names each rejection, retries what is transient; and
every line of the workflow's functions carries the PaymentId."""

import json
from decimal import Decimal

import pytest
from botocore.exceptions import ClientError

from payproc import aws
from payproc.payment_store import PaymentRejected, TransientError
from tests.helpers.handlers import (
    accepted_payment,
    balance_table,
    payments_table,
    put_bill,
    CARD,
    FakeContext,
    fail_next_call,
    load_handler,
)


def test_the_commit_wins_once_and_a_repeat_changes_nothing(payments_aws):
    payment = accepted_payment(payments_aws)
    process = load_handler("process_payment").handler
    assert process({"payment": payment, "executionArn": "arn:exec"}, FakeContext())["status"] == "paid"
    assert process({"payment": payment, "executionArn": "arn:exec"}, FakeContext())["status"] == "paid"  # a retry
    bill = balance_table().get_item(Key={"InvoiceID": 17})["Item"]
    assert (bill["Balance"], bill["IsProcessed"]) == (0, 1)
    item = payments_table().get_item(Key={"PaymentId": payment["paymentId"]})["Item"]
    assert item["Status"] == "paid" and item["ExecutionArn"] == "arn:exec" and item["PaidAt"]


def test_a_second_payment_of_a_paid_invoice_is_rejected_by_name(payments_aws):
    first = accepted_payment(payments_aws)
    second = accepted_payment(payments_aws)  # accepted while the first had not run yet
    process = load_handler("process_payment").handler
    process({"payment": first}, FakeContext())
    with pytest.raises(PaymentRejected, match="already paid") as rejected:
        process({"payment": second}, FakeContext())
    assert type(rejected.value).__name__ == "PaymentRejected"  # the name the workflow's Catch matches
    assert payments_table().get_item(Key={"PaymentId": second["paymentId"]})["Item"]["Status"] == "accepted"


def test_a_changed_balance_rejects_the_payment(payments_aws):
    payment = accepted_payment(payments_aws)
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
def test_a_transient_error_of_the_commit_is_retried_by_name_and_the_retry_commits(payments_aws, code, reasons):
    payment = accepted_payment(payments_aws)
    process = load_handler("process_payment").handler
    fail_next_call(aws.dynamodb(), "TransactWriteItems", code, reasons)
    with pytest.raises(TransientError) as transient:
        process({"payment": payment}, FakeContext())
    assert type(transient.value).__name__ == "TransientError"  # the name the workflow's Retry matches
    assert balance_table().get_item(Key={"InvoiceID": 17})["Item"]["IsProcessed"] == 0  # nothing written
    assert process({"payment": payment}, FakeContext())["status"] == "paid"  # the workflow's retry


def test_another_error_of_the_commit_is_neither_transient_nor_a_rejection(payments_aws):
    payment = accepted_payment(payments_aws)
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
def test_a_payment_no_longer_accepted_or_a_deleted_invoice_is_rejected_by_name(payments_aws, meanwhile, reason):
    payment = accepted_payment(payments_aws)
    meanwhile(payment)
    with pytest.raises(PaymentRejected, match=reason):
        load_handler("process_payment").handler({"payment": payment}, FakeContext())


def test_a_commit_counts_once_and_a_paid_payment_never_counts_as_failed(payments_aws, metric_documents):
    payment = accepted_payment(payments_aws)
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


def test_every_line_of_the_workflows_functions_carries_the_payment_id(payments_aws, log_lines):
    payment = accepted_payment(payments_aws, choices="both")
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


@pytest.mark.parametrize(
    "card, error", [("4000000000000002", "CardDeclined"), ("4000000000000119", "ProcessorUnavailable")]
)
def test_a_card_the_processor_refuses_is_never_committed_and_the_error_is_named(payments_aws, card, error):
    payment = accepted_payment(payments_aws, card=card)
    with pytest.raises(Exception) as refused:
        load_handler("process_payment").handler({"payment": payment}, FakeContext())
    assert type(refused.value).__name__ == error  # the names the workflow retries (ProcessorUnavailable) or records
    bill = balance_table().get_item(Key={"InvoiceID": 17})["Item"]
    assert (bill["Balance"], bill["IsProcessed"]) == (Decimal("125.5"), 0)
    assert payments_table().get_item(Key={"PaymentId": payment["paymentId"]})["Item"]["Status"] == "accepted"


def test_a_charge_whose_invoice_was_paid_meanwhile_is_refunded(payments_aws, monkeypatch, log_lines):
    from payproc import payment_store
    from payproc.processor import TestProcessor

    payment = accepted_payment(payments_aws)
    original_charge = TestProcessor.charge

    def charge_while_another_payment_wins(self, token, amount, idempotency_key):
        put_bill(balance="0", processed=1)
        return original_charge(self, token, amount, idempotency_key)

    monkeypatch.setattr(TestProcessor, "charge", charge_while_another_payment_wins)
    with pytest.raises(payment_store.PaymentRejected, match="already paid"):
        load_handler("process_payment").handler({"payment": payment}, FakeContext())
    refunds = [line for line in log_lines() if line["message"] == "charge_refunded"]
    assert [line["reference"] for line in refunds] == [f"test_charge_{payment['paymentId']}"]
