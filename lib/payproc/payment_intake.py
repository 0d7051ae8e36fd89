"""Accepting a payment request (POST /paymentbalance): within the client's, the invoice's and the card's limits of
failed attempts (payproc.limits), once per idempotency key, against the invoice as it is now.
The accepted payment is stored first, then its workflow started, named by its PaymentId so a second start starts
nothing; a request whose key is stored already gets that payment's first answer (and a start, if it never had one).
Every refusal is an ApiError, which the API wrapper renders (payproc.http). docs/payments.md tells the whole story."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Mapping

from payproc import aws, bill_store, limits, payment_store
from payproc.cards import card_fingerprint, masked
from payproc.config import get_settings
from payproc.http import ApiError
from payproc.money import format_money
from payproc.processor import card_processor
from payproc.payments import (
    accepted_response,
    derived_idempotency_key,
    execution_input,
    new_payment_item,
    now_iso,
    payment_id_for,
    request_fingerprint,
)
from payproc.telemetry import logger
from payproc.validation import PaymentRequest


def accept(request: PaymentRequest, sent_key: str | None, client_address: str, secret: bytes) -> dict[str, Any]:
    """The 202 body of the payment the request names, accepted now or earlier. `secret` keys the card's fingerprint,
    which the per-card limit counts, and the key of a request sent without one (derived from the invoice, amount and
    card)."""
    settings = get_settings()
    payments_table = settings.require("payments_table")
    card = card_fingerprint(request.card_digits, secret)
    limits.check(limits.failed_payment_limits(client_address, request.invoice_id, card))
    derived = sent_key is None
    key = derived_idempotency_key(request, secret) if derived else sent_key
    payment_id, fingerprint = payment_id_for(key), request_fingerprint(request, key)
    logger.append_keys(PaymentId=payment_id)
    if existing := payment_store.read_payment(payments_table, payment_id):
        return replay(existing, fingerprint, derived)
    check_invoice(request, bill_store.read_invoice(settings.require("balance_table"), request.invoice_id))
    token = card_processor().tokenize(request.card_digits)
    item = new_payment_item(payment_id, request, fingerprint, now_iso(), token, card, client_address)
    if not payment_store.insert_payment(payments_table, item):  # a concurrent request with the same key won
        return replay(payment_store.read_payment(payments_table, payment_id), fingerprint, derived)
    start_workflow(item)
    logger.info(
        "payment_accepted",
        invoice_id=request.invoice_id,
        amount=format_money(request.amount),
        card=masked(request.card),
    )
    return accepted_response(payment_id)


def check_invoice(request: PaymentRequest, invoice: Mapping[str, Any] | None) -> None:
    """Raise the ApiError of an invoice that cannot take this payment: unknown, paid, or another amount due."""
    if invoice is None:
        raise ApiError(404, f"invoice {request.invoice_id} not found")
    if int(invoice["IsProcessed"]) == 1:
        raise ApiError(409, f"invoice {request.invoice_id} is already paid")
    balance = Decimal(invoice["Balance"])
    if balance != request.amount:
        raise ApiError(
            400, "invalid payment request", {"BillingAmount": f"must equal the balance due, {format_money(balance)}"}
        )


def replay(existing: Mapping[str, Any] | None, fingerprint: str, derived: bool) -> dict[str, Any]:
    """The first answer of a key already used, for the same request; 422 for another request."""
    if existing is None:  # its conditional write refused ours, so it is there: anything else is a fault, not a 422
        raise RuntimeError("the payment that refused this one's write is not stored")
    if existing.get("RequestHash") != fingerprint:
        if derived:
            reason = "a payment of this invoice with this card and amount was already submitted with other details"
            raise ApiError(422, reason, {"body": reason})
        raise ApiError(
            422,
            "this Idempotency-Key was already used with a different request",
            {"Idempotency-Key": "already used with a different request; use a new key"},
        )
    if not existing.get("ExecutionArn"):
        start_workflow(existing)  # the first attempt stored the payment but could not start it
    return json.loads(existing["Response"])


def start_workflow(item: Mapping[str, Any]) -> None:
    """Start the payment's execution, named by its PaymentId so that a second start starts nothing, and note it."""
    settings = get_settings()
    state_machine = settings.require("state_machine_arn")
    sfn = aws.client("stepfunctions")
    payload = json.dumps(execution_input(item, settings.payment_wait_seconds), sort_keys=True)
    try:
        arn = sfn.start_execution(stateMachineArn=state_machine, name=item["PaymentId"], input=payload)["executionArn"]
    except sfn.exceptions.ExecutionAlreadyExists:
        arn = f"{state_machine.replace(':stateMachine:', ':execution:')}:{item['PaymentId']}"
    payment_store.record_execution(settings.require("payments_table"), item["PaymentId"], arn)
