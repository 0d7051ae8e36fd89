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
