"""process_payment (workflow Task): commit the payment in one DynamoDB transaction, or reject it by name.

Raises PaymentRejected (caught by the workflow, which records the failure) when the invoice is paid or its balance
is not the amount; TransientError (retried by the workflow) on throttling or conflicts. A repeat changes nothing.
"""

from __future__ import annotations

from typing import Any

from payproc.config import get_settings
from payproc.payment_store import PaymentRejected, TransientError, commit_payment
from payproc.money import parse_money
from payproc.telemetry import instrumented, logger

__all__ = ["PaymentRejected", "TransientError", "handler"]


@instrumented
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Input {payment: <execution input>, executionArn}; returns {status, paymentId}."""
    payment = event["payment"]
    logger.append_keys(PaymentId=payment["paymentId"])
    settings = get_settings()
    try:
        status = commit_payment(
            balance_table=settings.require("balance_table"),
            payments_table=settings.require("payments_table"),
            payment_id=payment["paymentId"],
            invoice_id=int(payment["invoiceId"]),
            amount=parse_money(payment["amount"]),
            execution_arn=event.get("executionArn"),
        )
    except PaymentRejected as rejected:
        logger.info("payment_rejected", reason=str(rejected))
        raise
    logger.info("payment_committed", invoice_id=payment["invoiceId"], amount=payment["amount"], status=status)
    return {"status": status, "paymentId": payment["paymentId"]}
