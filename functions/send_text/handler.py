"""send_text (workflow Task): text the payer that the payment went through (SNS SMS), and record it on the payment.

An SNS error propagates so the workflow retries and then records the failure; the payment itself stays paid.
"""

from __future__ import annotations

from typing import Any

from payproc import aws
from payproc.config import get_settings
from payproc.ledger import alert_already_sent, record_alert_sent
from payproc.logs import get_logger, log_event
from payproc.payments import alert_text

LOG = get_logger("send_text")
CHANNEL = "text"


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Input: the execution input; returns {text: "sent"}."""
    payments_table = get_settings().require("payments_table")
    payment_id = event["paymentId"]
    if not event.get("phone"):
        raise ValueError("no phone number for the chosen text alert")
    if not alert_already_sent(payments_table, payment_id, CHANNEL):
        message_id = aws.client("sns").publish(
            PhoneNumber=event["phone"],
            Message=alert_text(event),
            MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}},
        )["MessageId"]
        log_event(LOG, "text_sent", payment_id=payment_id, message_id=message_id)
    status = record_alert_sent(payments_table, payment_id, CHANNEL)
    return {CHANNEL: "sent", "status": status}
