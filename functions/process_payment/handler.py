"""process_payment (workflow Task): commit the payment in one DynamoDB transaction, or reject it by name.

Raises PaymentRejected (caught by the workflow, which records the failure) when the invoice is paid or its balance
is not the amount; TransientError (retried by the workflow) on throttling or conflicts. A repeat changes nothing.
"""

from __future__ import annotations

from typing import Any

from payproc.config import get_settings
from payproc.ledger import PaymentRejected, TransientError, commit_payment
from payproc.logs import get_logger, log_event
from payproc.money import parse_money

LOG = get_logger("process_payment")
__all__ = ["PaymentRejected", "TransientError", "handler"]


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Input {payment: <execution input>, executionArn}; returns {status, paymentId}."""
    payment = event["payment"]
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
        log_event(LOG, "payment_rejected", payment_id=payment["paymentId"], reason=str(rejected))
        raise
    log_event(LOG, "payment_committed", payment_id=payment["paymentId"], invoice_id=payment["invoiceId"],
              amount=payment["amount"], status=status)
    return {"status": status, "paymentId": payment["paymentId"]}
