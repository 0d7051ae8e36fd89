"""process_payment (workflow Task): charge the card through the processor, then commit the payment in one DynamoDB
transaction; or reject it by name.

Raises PaymentRejected when the invoice is paid or its balance is not the amount (nothing is charged; a charge made
before a concurrent payment won is refunded), CardDeclined when the processor refuses the card, and, retried by the
workflow, ProcessorUnavailable and TransientError (throttling or conflicts). A repeat changes nothing: the charge's
idempotency key is the payment's id, and a committed payment is found committed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from payproc.config import get_settings
from payproc.money import parse_money
from payproc.payment_store import PaymentRejected, TransientError, commit_payment, settled_status
from payproc.processor import CardDeclined, ProcessorUnavailable, card_processor
from payproc.telemetry import instrumented, logger

__all__ = ["CardDeclined", "PaymentRejected", "ProcessorUnavailable", "TransientError", "handler"]


@instrumented
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Input {payment: <execution input>, executionArn}; returns {status, paymentId}."""
    payment = event["payment"]
    payment_id, invoice_id, amount = payment["paymentId"], int(payment["invoiceId"]), parse_money(payment["amount"])
    logger.append_keys(PaymentId=payment_id)
    settings = get_settings()
    tables = {"balance_table": settings.require("balance_table"), "payments_table": settings.require("payments_table")}
    try:
        status = settled_status(**tables, payment_id=payment_id, invoice_id=invoice_id, amount=amount)
        if status is None:
            status = charge_and_commit(
                tables, payment_id, invoice_id, amount, payment["cardToken"], event.get("executionArn")
            )
    except PaymentRejected as rejected:
        logger.info("payment_rejected", reason=str(rejected))
        raise
    logger.info("payment_committed", invoice_id=payment["invoiceId"], amount=payment["amount"], status=status)
    return {"status": status, "paymentId": payment_id}


def charge_and_commit(
    tables: dict[str, str], payment_id: str, invoice_id: int, amount: Decimal, token: str, execution_arn: str | None
) -> str:
    """Charge the card, then commit; give the charge back if the invoice was paid by another payment meanwhile."""
    processor = card_processor()
    try:
        reference = processor.charge(token, amount, idempotency_key=payment_id)
    except CardDeclined as declined:
        logger.info("payment_declined", decline_code=str(declined))
        raise
    try:
        return commit_payment(
            **tables,
            payment_id=payment_id,
            invoice_id=invoice_id,
            amount=amount,
            execution_arn=execution_arn,
            charge_reference=reference,
        )
    except PaymentRejected:
        processor.refund(reference, amount)
        raise
