"""Per-client limits of the public API, against enumeration of customers and card testing (docs/payments.md, "The
public page"): invoice lookups per client address, and failed payment attempts per client address, per invoice and
per card (a keyed fingerprint, never the number). Past a limit the API answers 429 with Retry-After.

Each limit counts in fixed windows (aligned to the epoch) with one DynamoDB item per subject and window, an atomic
ADD, and a TTL attribute that lets DynamoDB delete the item once its window is over; so the same code guards the local
stack and AWS, across every container. Our own rather than the `limits` package's: that one keeps its counts in
memory, Redis, Memcached or MongoDB, never DynamoDB: a server more to run (or a count per container).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Iterable

from payproc import aws
from payproc.config import get_settings
from payproc.http import ApiError

# DynamoDB's TTL deletes within days of expiry, not at it; the window is in the key, so a late delete changes nothing.
EXPIRY_GRACE_SECONDS = 60


@dataclass(frozen=True)
class Limit:
    """At most `allowed` counts per `window_seconds`, per subject; `refusal` is the 429's message."""

    name: str
    allowed: int
    window_seconds: int
    refusal: str

    def window_end(self, now: float) -> int:
        return (int(now) // self.window_seconds + 1) * self.window_seconds


@dataclass(frozen=True)
class Counted:
    """One subject (a client address, an invoice id, a card fingerprint) under one limit."""

    limit: Limit
    subject: str

    def key(self, now: float) -> str:
        return f"{self.limit.name}#{self.subject}#{self.limit.window_end(now)}"


class LimitExceeded(ApiError):
    """429 Too Many Requests, with the seconds until the window ends as Retry-After."""

    def __init__(self, counted: Counted, now: float) -> None:
        retry_after = max(1, math.ceil(counted.limit.window_end(now) - now))
        message = counted.limit.refusal.format(subject=counted.subject, retry_in=in_words(retry_after))
        super().__init__(429, message, headers={"Retry-After": str(retry_after)})


def in_words(seconds: int) -> str:
    """A wait as a person reads it: "45 seconds", "57 minutes"."""
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"


def lookup_limit(client_address: str) -> Counted:
    """Invoice lookups of one client address."""
    settings = get_settings()
    limit = Limit(
        "lookups",
        settings.lookups_per_window,
        settings.lookup_window_seconds,
        "too many invoice lookups from your address; retry in {retry_in}",
    )
    return Counted(limit, client_address)


def failed_payment_limits(client_address: str, invoice_id: int, card_fingerprint: str) -> list[Counted]:
    """Failed payment attempts (declines) of one client address, one invoice and one card; the invoice's doubles
    as its lock."""
    settings = get_settings()
    window = settings.failed_payment_window_seconds
    return [
        Counted(
            Limit(
                "failed-payments-client",
                settings.failed_payments_per_client,
                window,
                "too many failed payment attempts from your address; retry in {retry_in}",
            ),
            client_address,
        ),
        Counted(
            Limit(
                "failed-payments-invoice",
                settings.failed_payments_per_invoice,
                window,
                "invoice {subject} is locked after too many failed payment attempts; retry in {retry_in}",
            ),
            str(invoice_id),
        ),
        Counted(
            Limit(
                "failed-payments-card",
                settings.failed_payments_per_card,
                window,
                "too many failed payment attempts with this card; use another card or retry in {retry_in}",
            ),
            card_fingerprint,
        ),
    ]


def hit(counted: Counted, now: float | None = None) -> None:
    """Count one attempt; raise LimitExceeded when it is past the limit (the attempt is not to be served)."""
    now = time.time() if now is None else now
    if _add(counted, now) > counted.limit.allowed:
        raise LimitExceeded(counted, now)


def add(counters: Iterable[Counted], now: float | None = None) -> None:
    """Count one failure under each of these limits."""
    now = time.time() if now is None else now
    for counted in counters:
        _add(counted, now)


def check(counters: list[Counted], now: float | None = None) -> None:
    """Raise LimitExceeded for the first limit already reached; count nothing. One BatchGetItem for them all."""
    now = time.time() if now is None else now
    table = get_settings().require("limits_table")
    keys = {counted.key(now): counted for counted in counters}
    keys_and_attributes = {
        "Keys": [{"Counter": key} for key in keys],
        "ProjectionExpression": "#c, Hits",
        "ExpressionAttributeNames": {"#c": "Counter"},
    }
    request = {table: keys_and_attributes}
    hits: dict[str, int] = {}
    while request:  # keys DynamoDB left unprocessed (throttling) are asked again
        answer = aws.dynamodb().batch_get_item(RequestItems=request)
        hits |= {item["Counter"]: int(item["Hits"]) for item in answer["Responses"].get(table, [])}
        request = answer.get("UnprocessedKeys") or None
    for key, counted in keys.items():
        if hits.get(key, 0) >= counted.limit.allowed:
            raise LimitExceeded(counted, now)


def _add(counted: Counted, now: float) -> int:
    item = aws.dynamodb().update_item(
        TableName=get_settings().require("limits_table"),
        Key={"Counter": counted.key(now)},
        UpdateExpression="ADD Hits :one SET ExpiresAt = if_not_exists(ExpiresAt, :expires)",
        ExpressionAttributeValues={":one": 1, ":expires": counted.limit.window_end(now) + EXPIRY_GRACE_SECONDS},
        ReturnValues="UPDATED_NEW",
    )
    return int(item["Attributes"]["Hits"])
