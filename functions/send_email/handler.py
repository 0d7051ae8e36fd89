"""send_email (workflow Task): email the payer that the payment went through (SES), and record it on the payment.

An SES error propagates so the workflow retries and then records the failure; the payment itself stays paid.
"""

from __future__ import annotations

from typing import Any

from payproc import aws
from payproc.config import get_settings
from payproc.payment_store import alert_already_sent, record_alert_sent
from payproc.payments import alert_text
from payproc.telemetry import instrumented, logger

CHANNEL = "email"


def email_message(payment: dict[str, Any]) -> dict[str, Any]:
    """The SES Message: subject and text body naming the amount and the invoice."""
    subject = f"Payment of {payment['amount']} received for invoice {payment['invoiceId']}"
    return {
        "Subject": {"Data": subject, "Charset": "UTF-8"},
        "Body": {"Text": {"Data": alert_text(payment), "Charset": "UTF-8"}},
    }


@instrumented
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Input {payment: <execution input>, channel}; returns {email: "sent", status}."""
    payment = event["payment"]
    payment_id = payment["paymentId"]
    logger.append_keys(PaymentId=payment_id)
    settings = get_settings()
    payments_table = settings.require("payments_table")
    if not payment.get("email"):
        raise ValueError("no email address for the chosen email alert")
    if not alert_already_sent(payments_table, payment_id, CHANNEL):
        message_id = aws.client("ses").send_email(
            Source=settings.require("sender_email"),
            Destination={"ToAddresses": [payment["email"]]},
            Message=email_message(payment),
        )["MessageId"]
        logger.info("email_sent", message_id=message_id)
    status = record_alert_sent(payments_table, payment_id, CHANNEL)
    return {CHANNEL: "sent", "status": status}
