"""record_failure (workflow Catch target): write down why a step failed.

stage "payment": the payment was not committed; it becomes failed with the reason (unless it is paid after all).
stage "email" / "text": an alert failed; it is recorded on the payment, which stays paid.
"""

from __future__ import annotations

from typing import Any

from payproc.config import get_settings
from payproc.payment_store import record_alert_failure, record_payment_failure
from payproc.payments import failure_reason
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
    if stage == "payment":
        recorded = record_payment_failure(payments_table, payment_id, reason)
    else:
        record_alert_failure(payments_table, payment_id, stage, reason)
        recorded = True
    logger.info("failure_recorded", stage=stage, reason=reason, recorded=recorded)
    return {"stage": stage, "reason": reason, "recorded": recorded}
