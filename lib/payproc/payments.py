"""Rules of a payment's life: its id and request fingerprint, the stored record, the workflow input, the status a
client sees, and the alert messages. No card number goes past validation: only brand and last four."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from enum import StrEnum
from typing import Any, Mapping

from payproc.cards import card_fingerprint
from payproc.money import format_money
from payproc.validation import PaymentRequest


class State(StrEnum):
    """A payment's Status (accepted -> paid -> notified; declined: the card processor refused it; failed: never
    committed for another reason) and each alert's in its Notifications (pending -> sent, or failed: the payment
    stays paid)."""

    ACCEPTED = "accepted"
    PAID = "paid"
    NOTIFIED = "notified"
    DECLINED = "declined"
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


PAYMENT_ID_LENGTH = 32


def payment_id_for(idempotency_key: str) -> str:
    """The payment id an idempotency key names: a sha256 hex prefix (the same key always names the same payment)."""
    return hashlib.sha256(f"payment:{idempotency_key}".encode()).hexdigest()[:PAYMENT_ID_LENGTH]


def derived_idempotency_key(request: PaymentRequest, secret: bytes) -> str:
    """The idempotency key of a request sent without one (the original tutorial's page sends none): the invoice, the
    amount and the card's fingerprint under the server's secret, so a form submitted twice is one payment. The card
    number itself never enters it, and without the secret the key (and the PaymentId it names) cannot be matched
    against guessed card numbers."""
    card = card_fingerprint(request.card_digits, secret)
    return f"derived:{request.invoice_id}:{format_money(request.amount)}:{card}"


def request_fingerprint(request: PaymentRequest, idempotency_key: str) -> str:
    """A hash of the request's canonical form, to tell a replay from a different request under the same key.

    The card number enters only as its fingerprint keyed by the idempotency key, which is not stored.
    """
    card = card_fingerprint(request.card_digits, idempotency_key.encode())
    canonical = {
        "InvoiceID": request.invoice_id,
        "BillersName": request.billers_name,
        "BillingAmount": format_money(request.amount),
        "Card": card,
        "ExpiryDate": request.expiry,
        "EmailId": request.email,
        "PhnNumber": request.phone,
        "Choices": request.choices,
    }
    if request.wait_seconds is not None:
        # Only when sent, so the fingerprint of a request without it stays what it was before the field existed.
        canonical["WaitSeconds"] = request.wait_seconds
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def now_iso() -> str:
    """The current UTC time as ISO 8601 with seconds."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def accepted_response(payment_id: str) -> dict[str, str]:
    """The 202 body of an accepted payment."""
    return {"PaymentId": payment_id, "Status": State.ACCEPTED, "StatusUrl": f"/payments/{payment_id}"}


def new_payment_item(
    payment_id: str,
    request: PaymentRequest,
    fingerprint: str,
    created_at: str,
    card_token: str,
    card_fingerprint: str,
    client_address: str,
) -> dict[str, Any]:
    """The Payments record written when a payment is accepted (ledger, status and idempotency record): with the
    processor's token for the card, and what a decline counts against (payproc.limits): the card's keyed fingerprint
    and the client's address."""
    notifications = {}
    if request.wants_email():
        notifications["email"] = State.PENDING
    if request.wants_text():
        notifications["text"] = State.PENDING
    item: dict[str, Any] = {
        "PaymentId": payment_id,
        "InvoiceID": request.invoice_id,
        "Amount": request.amount,
        "BillersName": request.billers_name,
        "CardBrand": request.card.brand,
        "CardLast4": request.card.last4,
        "CardToken": card_token,
        "CardFingerprint": card_fingerprint,
        "ClientAddress": client_address,
        "Choices": request.choices,
        "Status": State.ACCEPTED,
        "Notifications": notifications,
        "NotificationErrors": {},
        "RequestHash": fingerprint,
        "Response": json.dumps(accepted_response(payment_id), sort_keys=True),
        "CreatedAt": created_at,
    }
    if request.email:
        item["EmailId"] = request.email
    if request.phone:
        item["PhnNumber"] = request.phone
    if request.wait_seconds is not None:
        item["WaitSeconds"] = request.wait_seconds
    return item


def execution_input(item: Mapping[str, Any], default_wait_seconds: int) -> dict[str, Any]:
    """The workflow input of a payment, built from its stored record so every start sends the same input; it waits
    the seconds the request asked for, else the server's default."""
    return {
        "paymentId": item["PaymentId"],
        "invoiceId": int(item["InvoiceID"]),
        "amount": format_money(Decimal(item["Amount"])),  # a string: Step Functions would turn a number into a float
        "alerts": sorted(item.get("Notifications") or {}),  # the channels the workflow sends: email, text or both
        "email": item.get("EmailId"),
        "phone": item.get("PhnNumber"),
        "cardBrand": item["CardBrand"],
        "cardLast4": item["CardLast4"],
        "cardToken": item["CardToken"],
        "waitSeconds": int(item.get("WaitSeconds", default_wait_seconds)),
    }


def status_view(item: Mapping[str, Any]) -> dict[str, Any]:
    """What GET /payments/{PaymentId} shows of a payment record (no contact details, no request hash)."""
    view: dict[str, Any] = {
        "PaymentId": item["PaymentId"],
        "InvoiceID": int(item["InvoiceID"]),
        "Amount": format_money(Decimal(item["Amount"])),
        "Status": item["Status"],
        "Notifications": dict(item.get("Notifications") or {}),
        "CardBrand": item["CardBrand"],
        "CardLast4": item["CardLast4"],
    }
    if item.get("NotificationErrors"):
        view["NotificationErrors"] = dict(item["NotificationErrors"])
    for optional in ("Reason", "DeclineCode", "CreatedAt", "PaidAt", "NotifiedAt", "FailedAt"):
        if item.get(optional):
            view[optional] = item[optional]
    return view


def alert_text(payment: Mapping[str, Any]) -> str:
    """The alert wording shared by email and text: amount, invoice id and the masked card."""
    return (
        f"Payment of {payment['amount']} received for invoice {payment['invoiceId']}, "
        f"paid with {payment['cardBrand']} ending {payment['cardLast4']}. Payment id {payment['paymentId']}."
    )


def all_alerts_sent(notifications: Mapping[str, str]) -> bool:
    """Whether every chosen alert has been sent."""
    return bool(notifications) and all(state == State.SENT for state in notifications.values())


def caught_error(error: Mapping[str, Any] | None) -> tuple[str, str]:
    """(error name, message) of a Step Functions Catch's {Error, Cause} (Cause holds the Lambda's errorMessage)."""
    if not error:
        return "Error", "unknown error"
    name, cause = str(error.get("Error", "Error")), error.get("Cause") or ""
    try:
        message = json.loads(cause).get("errorMessage", cause)
    except (ValueError, AttributeError):
        message = cause
    return name, str(message)


def failure_reason(error: Mapping[str, Any] | None) -> str:
    """A readable reason from a Step Functions Catch's {Error, Cause}."""
    if not error:
        return "unknown error"
    name, message = caught_error(error)
    return f"{name}: {message}" if message else name
