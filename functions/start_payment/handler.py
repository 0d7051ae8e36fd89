"""start_payment: POST /paymentbalance validates a payment, records it once per Idempotency-Key (sent, or derived
from the request when none is) and starts its workflow (payproc.payment_intake). The card number is reduced to brand +
last four, a keyed fingerprint and the card processor's token here, and goes no further (docs/payments.md)."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from payproc import aws, payment_intake
from payproc.config import get_settings
from payproc.http import ApiError, api_handler, client_address, header, json_body, json_response
from payproc.validation import ValidationFailed, parse_idempotency_key, validate_payment_request


@functools.cache
def card_fingerprint_secret() -> bytes:
    """The server's secret under which the card is fingerprinted, for its limit of failed attempts and in a derived
    idempotency key (an SSM SecureString), read once per container."""
    name = get_settings().require("card_fingerprint_key_parameter")
    return aws.client("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"].encode()


@api_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """400 with a reason per field, 404 unknown invoice, 409 paid, 422 key reused, 429 past a limit of failed
    attempts (the client's, the invoice's or the card's), 202 accepted (or replayed)."""
    try:
        sent_key = parse_idempotency_key(header(event, "Idempotency-Key"))
    except ValueError as error:
        raise ApiError(400, "the Idempotency-Key header is not valid", {"Idempotency-Key": str(error)}) from None
    today = dt.datetime.now(dt.timezone.utc).date()
    try:
        request = validate_payment_request(json_body(event), today, get_settings().payment_max_wait_seconds)
    except ValidationFailed as failed:
        raise ApiError(400, "invalid payment request", failed.errors) from None
    accepted = payment_intake.accept(request, sent_key, client_address(event), card_fingerprint_secret())
    return json_response(202, accepted)
