"""start_payment: POST /paymentbalance validates a payment, records it once per Idempotency-Key (sent, or derived
from the request when none is) and starts its workflow. The card number is reduced to brand + last four here and goes
no further (docs/payments.md)."""

from __future__ import annotations

import datetime as dt
import functools
import json
from decimal import Decimal
from typing import Any, Mapping

from botocore.exceptions import ClientError

from payproc import aws
from payproc.cards import masked
from payproc.config import get_settings
from payproc.http import BadRequest, api_handler, error_response, header, json_body, json_response
from payproc.money import format_money
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
from payproc.validation import PaymentRequest, ValidationFailed, parse_idempotency_key, validate_payment_request


def invoice_problem(request: PaymentRequest, invoice: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The error response when the invoice cannot take this payment (unknown, paid, other amount), else None."""
    if invoice is None:
        return error_response(404, f"invoice {request.invoice_id} not found")
    if int(invoice["IsProcessed"]) == 1:
        return error_response(409, f"invoice {request.invoice_id} is already paid")
    balance = Decimal(invoice["Balance"])
    if balance != request.amount:
        return error_response(
            400, "invalid payment request", {"BillingAmount": f"must equal the balance due, {format_money(balance)}"}
        )
    return None


@functools.cache
def card_fingerprint_secret() -> bytes:
    """The server's secret under which a derived idempotency key fingerprints the card (an SSM SecureString), read
    once per container and only when a request comes without a key."""
    name = get_settings().require("card_fingerprint_key_parameter")
    return aws.client("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"].encode()


def key_reused(derived: bool) -> dict[str, Any]:
    """422: the key names a payment that was requested with other details."""
    if derived:
        reason = "a payment of this invoice with this card and amount was already submitted with other details"
        return error_response(422, reason, {"body": reason})
    return error_response(
        422,
        "this Idempotency-Key was already used with a different request",
        {"Idempotency-Key": "already used with a different request; use a new key"},
    )


def replay(existing: Mapping[str, Any], fingerprint: str, derived: bool) -> dict[str, Any]:
    """The answer to a key already used: its first answer for the same request, 422 for another request."""
    if existing.get("RequestHash") != fingerprint:
        return key_reused(derived)
    if not existing.get("ExecutionArn"):
        start_workflow(existing)  # the first attempt stored the payment but could not start it
    return json_response(202, json.loads(existing["Response"]))


def start_workflow(item: Mapping[str, Any]) -> None:
    """Start the payment's execution, named by its PaymentId so that a second start starts nothing."""
    settings = get_settings()
    sfn = aws.client("stepfunctions")
    payload = json.dumps(execution_input(item, settings.payment_wait_seconds), sort_keys=True)
    try:
        arn = sfn.start_execution(
            stateMachineArn=settings.require("state_machine_arn"), name=item["PaymentId"], input=payload
        )["executionArn"]
    except sfn.exceptions.ExecutionAlreadyExists:
        arn = f"{settings.require('state_machine_arn').replace(':stateMachine:', ':execution:')}:{item['PaymentId']}"
    aws.table(settings.require("payments_table")).update_item(
        Key={"PaymentId": item["PaymentId"]},
        UpdateExpression=(
            "SET ExecutionArn = if_not_exists(ExecutionArn, :arn), StartedAt = if_not_exists(StartedAt, :now)"
        ),
        ExpressionAttributeValues={":arn": arn, ":now": now_iso()},
    )


def record_payment(request: PaymentRequest, payment_id: str, fingerprint: str, derived: bool) -> dict[str, Any]:
    """Store the accepted payment once; if a concurrent request with the same key won, answer as a replay."""
    payments = aws.table(get_settings().require("payments_table"))
    item = new_payment_item(payment_id, request, fingerprint, now_iso())
    try:
        payments.put_item(Item=item, ConditionExpression="attribute_not_exists(PaymentId)")
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return replay(
            payments.get_item(Key={"PaymentId": payment_id}, ConsistentRead=True)["Item"], fingerprint, derived
        )
    start_workflow(item)
    logger.info(
        "payment_accepted",
        invoice_id=request.invoice_id,
        amount=format_money(request.amount),
        card=masked(request.card),
    )
    return json_response(202, accepted_response(payment_id))


@api_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """400 with a reason per field, 404 unknown invoice, 409 paid, 422 key reused, 202 accepted (or replayed)."""
    settings = get_settings()
    try:
        sent_key = parse_idempotency_key(header(event, "Idempotency-Key"))
    except ValueError as error:
        return error_response(400, "the Idempotency-Key header is not valid", {"Idempotency-Key": str(error)})
    try:
        request = validate_payment_request(
            json_body(event), dt.datetime.now(dt.timezone.utc).date(), settings.payment_max_wait_seconds
        )
    except BadRequest as error:
        return error_response(400, str(error), {"body": str(error)})
    except ValidationFailed as failed:
        return error_response(400, "invalid payment request", failed.errors)
    derived = sent_key is None
    key = derived_idempotency_key(request, card_fingerprint_secret()) if derived else sent_key
    payment_id, fingerprint = payment_id_for(key), request_fingerprint(request, key)
    logger.append_keys(PaymentId=payment_id)
    existing = (
        aws.table(settings.require("payments_table"))
        .get_item(Key={"PaymentId": payment_id}, ConsistentRead=True)
        .get("Item")
    )
    if existing:
        return replay(existing, fingerprint, derived)
    invoice = (
        aws.table(settings.require("balance_table"))
        .get_item(Key={"InvoiceID": request.invoice_id}, ConsistentRead=True)
        .get("Item")
    )
    problem = invoice_problem(request, invoice)
    if problem:
        return problem
    return record_payment(request, payment_id, fingerprint, derived)
