"""record_failure (workflow Catch target): write down why a step failed.

stage "payment": the payment was not committed. The processor's answer (CardDeclined, or ProcessorUnavailable after
the workflow's retries) makes it declined, with the customer's message, and counts against the client's, the
invoice's and the card's limits of failed attempts (payproc.limits); anything else makes it failed with the reason.
Either way only while it is still accepted (a paid payment is never marked otherwise).
stage "email" / "text": an alert failed; it is recorded on the payment, which stays paid.
"""

from __future__ import annotations

from typing import Any

from payproc import limits
from payproc.config import get_settings
from payproc.payment_store import record_alert_failure, record_payment_decline, record_payment_failure
from payproc.payments import caught_error, failure_reason
from payproc.processor import DECLINE_MESSAGES, decline_code
from payproc.telemetry import instrumented, logger

STAGES = ("payment", "email", "text")


@instrumented
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Input {payment: <execution input>, stage, error: the Catch's {Error, Cause}}; returns what was recorded."""
    payment = event["payment"]
    payment_id = payment["paymentId"]
    logger.append_keys(PaymentId=payment_id)
    stage = event["stage"]
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}")
    reason = failure_reason(event.get("error"))
    payments_table = get_settings().require("payments_table")
    code = decline_code(*caught_error(event.get("error"))) if stage == "payment" else None
    if code:
        reason = DECLINE_MESSAGES[code]
        declined = record_payment_decline(payments_table, payment_id, code, reason)
        if declined:
            client, card = declined["ClientAddress"], declined["CardFingerprint"]
            limits.add(limits.failed_payment_limits(client, int(declined["InvoiceID"]), card))
        recorded = declined is not None
    elif stage == "payment":
        recorded = record_payment_failure(payments_table, payment_id, reason)
    else:
        record_alert_failure(payments_table, payment_id, stage, reason)
        recorded = True
    logger.info("failure_recorded", stage=stage, reason=reason, decline_code=code, recorded=recorded)
    return {"stage": stage, "reason": reason, "recorded": recorded}
