"""send_email and send_text against moto, together: they are the two iterations of the workflow's alert step, and the
payment is notified once both are sent, whichever finishes last."""

from payproc import aws, payment_store
from tests.helpers.handlers import (
    accepted_payment,
    answer,
    payments_table,
    CARD,
    PAYMENTS_TABLE,
    FakeContext,
    after_next_call,
    api_event,
    load_handler,
)


def test_two_alerts_finishing_together_mark_the_payment_notified_once(payments_aws):
    payment = accepted_payment(payments_aws, choices="both")
    load_handler("process_payment").handler({"payment": payment}, FakeContext())
    pid = payment["paymentId"]
    payment_store.record_alert_sent(PAYMENTS_TABLE, pid, "email")
    # The text alert's flag lands; before it marks the payment notified, the email step (seeing both sent) does.
    after_next_call(
        aws.dynamodb(),
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


def test_both_alerts_sent_make_the_payment_notified(payments_aws):
    payment = accepted_payment(payments_aws, choices="both")
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


def test_the_alert_says_amount_and_invoice(payments_aws):
    from payproc.payments import alert_text

    text = alert_text({"amount": "125.50", "invoiceId": 17, "cardBrand": "Visa", "cardLast4": "1111", "paymentId": "p"})
    assert "125.50" in text and "17" in text and CARD not in text
