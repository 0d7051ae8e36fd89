"""send_text (workflow Task): text the payer that the payment went through (SNS SMS), and record it on the payment.

An SNS error propagates so the workflow retries and then records the failure; the payment itself stays paid.
"""

from __future__ import annotations

from typing import Any

from payproc import aws
from payproc.config import get_settings
from payproc.payment_store import alert_already_sent, record_alert_sent
from payproc.payments import alert_text
from payproc.telemetry import instrumented, logger

CHANNEL = "text"


@instrumented
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Input {payment: <execution input>, channel}; returns {text: "sent", status}."""
    payment = event["payment"]
    payment_id = payment["paymentId"]
    logger.append_keys(PaymentId=payment_id)
    payments_table = get_settings().require("payments_table")
    if not payment.get("phone"):
        raise ValueError("no phone number for the chosen text alert")
    if not alert_already_sent(payments_table, payment_id, CHANNEL):
        message_id = aws.client("sns").publish(
            PhoneNumber=payment["phone"],
            Message=alert_text(payment),
            MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}},
        )["MessageId"]
        logger.info("text_sent", message_id=message_id)
    status = record_alert_sent(payments_table, payment_id, CHANNEL)
    return {CHANNEL: "sent", "status": status}
