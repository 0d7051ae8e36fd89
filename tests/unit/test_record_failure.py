"""record_failure against moto: a payment that never committed is marked failed (and counted), a paid one never; a
failed alert is recorded and the payment stays paid."""

import json


from tests.helpers.handlers import (
    accepted_payment,
    answer,
    balance_table,
    payments_table,
    FakeContext,
    api_event,
    load_handler,
)


def test_record_failure_marks_an_uncommitted_payment_failed_with_the_reason(payments_aws):
    payment = accepted_payment(payments_aws)
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


def test_record_failure_never_marks_a_paid_payment_failed(payments_aws):
    payment = accepted_payment(payments_aws)
    load_handler("process_payment").handler({"payment": payment}, FakeContext())
    result = load_handler("record_failure").handler(
        {"payment": payment, "stage": "payment", "error": {"Error": "States.Timeout"}}, FakeContext()
    )
    assert result["recorded"] is False
    assert payments_table().get_item(Key={"PaymentId": payment["paymentId"]})["Item"]["Status"] == "paid"


def test_a_failed_alert_is_recorded_and_the_payment_stays_paid(payments_aws):
    payment = accepted_payment(payments_aws, choices="email")
    load_handler("process_payment").handler({"payment": payment}, FakeContext())
    error = {"Error": "MessageRejected", "Cause": json.dumps({"errorMessage": "Email address is not verified"})}
    load_handler("record_failure").handler({"payment": payment, "stage": "email", "error": error}, FakeContext())
    item = payments_table().get_item(Key={"PaymentId": payment["paymentId"]})["Item"]
    assert item["Status"] == "paid" and item["Notifications"] == {"email": "failed"}
    assert "not verified" in item["NotificationErrors"]["email"]
    bill = balance_table().get_item(Key={"InvoiceID": 17})["Item"]
    assert bill["IsProcessed"] == 1


def test_record_failure_counts_the_failed_payment_as_emf(payments_aws, metric_documents):
    payment = accepted_payment(payments_aws)
    error = {"Error": "PaymentRejected", "Cause": json.dumps({"errorMessage": "invoice 17 is already paid"})}
    load_handler("record_failure").handler({"payment": payment, "stage": "payment", "error": error}, FakeContext())
    [document] = metric_documents()
    [directive] = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "PayprocTest"  # POWERTOOLS_METRICS_NAMESPACE
    assert directive["Dimensions"] == [["service"]] and document["service"] == "payproc-test"  # POWERTOOLS_SERVICE_NAME
    assert directive["Metrics"] == [{"Name": "PaymentsFailed", "Unit": "Count"}]
    assert document["PaymentsFailed"] == [1.0]


def declined(payments_aws, card: str, error_type: str, message: str) -> dict:
    """A payment with this card, recorded after process_payment raised error_type(message) (the Catch's error)."""
    payment = accepted_payment(payments_aws, card=card)
    cause = json.dumps({"errorMessage": message, "errorType": error_type})
    error = {"Error": error_type, "Cause": cause}
    load_handler("record_failure").handler({"payment": payment, "stage": "payment", "error": error}, FakeContext())
    return payments_table().get_item(Key={"PaymentId": payment["paymentId"]})["Item"]


def test_a_decline_is_recorded_with_its_code_and_the_customers_message_and_leaves_the_bill_unpaid(payments_aws):
    item = declined(payments_aws, "4000000000009995", "CardDeclined", "insufficient_funds")
    assert (item["Status"], item["DeclineCode"]) == ("declined", "insufficient_funds")
    assert item["Reason"] == "Your card was declined for insufficient funds. Use another card."
    assert balance_table().get_item(Key={"InvoiceID": 17})["Item"]["IsProcessed"] == 0


def test_a_processor_still_unavailable_after_the_retries_is_a_processor_error_decline(payments_aws):
    item = declined(payments_aws, "4000000000000119", "ProcessorUnavailable", "no answer")
    assert (item["Status"], item["DeclineCode"]) == ("declined", "processor_error")
    assert "nothing was charged" in item["Reason"]


def test_each_decline_counts_against_the_client_the_invoice_and_the_card(payments_aws):
    import boto3

    from tests.helpers.handlers import LIMITS_TABLE, REGION

    first = declined(payments_aws, "4000000000000002", "CardDeclined", "generic_decline")
    declined(payments_aws, "4000000000000002", "CardDeclined", "generic_decline")
    counters = boto3.client("dynamodb", region_name=REGION).scan(TableName=LIMITS_TABLE)["Items"]
    hits = {item["Counter"]["S"].rsplit("#", 1)[0]: int(item["Hits"]["N"]) for item in counters}
    assert hits == {
        f"failed-payments-client#{first['ClientAddress']}": 2,
        "failed-payments-invoice#17": 2,
        f"failed-payments-card#{first['CardFingerprint']}": 2,
    }
    assert "4000000000000002" not in json.dumps(counters) + json.dumps(first, default=str)
