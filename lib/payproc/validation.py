"""Validation of what clients send: invoice ids, payment requests, idempotency keys. Data in, data (or errors) out."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Mapping

from payproc.cards import CardError, CardSummary, card_digits, parse_expiry, summarize_card
from payproc.money import MoneyError, parse_money

# The largest integer a browser's JSON keeps exactly (2**53 - 1); ids beyond it would change in the page.
MAX_INVOICE_ID = 9_007_199_254_740_991
INVOICE_ID_TEXT = re.compile(r"^[1-9][0-9]{0,15}$")
# A practical address check (dot-atom local part, a domain of at least two labels); SES does the real delivery.
EMAIL_PATTERN = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
E164_PATTERN = re.compile(r"^\+[1-9][0-9]{7,14}$")
IDEMPOTENCY_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,255}$")
PAYMENT_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")  # payments.payment_id_for's sha256 hex prefix
CHOICES = ("email", "text", "both")
MAX_NAME_LENGTH = 200
MAX_EMAIL_LENGTH = 254
# Names a client might give a card security code under; any of them is refused, never stored.
SECURITY_CODE_FIELDS = frozenset({"cvv", "cvv2", "cvc", "cvc2", "cid", "securitycode", "security_code"})
PAYMENT_FIELDS = (
    "InvoiceID",
    "BillersName",
    "BillingAmount",
    "CardNumber",
    "ExpiryDate",
    "EmailId",
    "PhnNumber",
    "Choices",
    "WaitSeconds",
)


class ValidationFailed(ValueError):
    """One or more fields are invalid; `errors` maps each field to the reason."""

    def __init__(self, errors: Mapping[str, str]):
        super().__init__("invalid request")
        self.errors = dict(errors)


@dataclass(frozen=True)
class PaymentRequest:
    """A validated payment request; the card is already reduced to its summary."""

    invoice_id: int
    billers_name: str
    amount: Decimal
    card: CardSummary
    # Only for the request fingerprint; never stored, logged or passed on (and kept out of repr()).
    card_digits: str = field(repr=False)
    expiry: str = ""
    email: str | None = None
    phone: str | None = None
    choices: str = "email"
    # The delay the client asked for before the payment is processed (the original tutorial's page sends 10);
    # None: the server's PAYMENT_WAIT_SECONDS.
    wait_seconds: int | None = None

    def wants_email(self) -> bool:
        """Whether an email alert was chosen."""
        return self.choices in ("email", "both")

    def wants_text(self) -> bool:
        """Whether a text alert was chosen."""
        return self.choices in ("text", "both")


def parse_invoice_id(value: object) -> int:
    """A positive integer invoice id from a JSON integer or a string of digits; raise ValueError."""
    if isinstance(value, bool):
        raise ValueError("must be a positive integer")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and INVOICE_ID_TEXT.match(value):
        number = int(value)
    else:
        raise ValueError("must be a positive integer")
    if not 1 <= number <= MAX_INVOICE_ID:
        raise ValueError(f"must be a positive integer no larger than {MAX_INVOICE_ID}")
    return number


def parse_payment_id(value: str | None) -> str:
    """A PaymentId as payments.payment_id_for makes them; raise ValueError for anything else."""
    if not value or not PAYMENT_ID_PATTERN.match(value):
        raise ValueError("must be 32 lowercase hex characters")
    return value


def parse_idempotency_key(value: str | None) -> str | None:
    """The Idempotency-Key header: 1-255 characters of letters, digits, '_', '.', ':' or '-'; None when it is not
    sent, and the server derives the key from the request (payments.derived_idempotency_key); raise ValueError when
    it is malformed (an empty header included: that is a client's bug, not a choice)."""
    if value is None:
        return None
    if not IDEMPOTENCY_KEY_PATTERN.match(value):
        raise ValueError("must be 1 to 255 letters, digits, '_', '.', ':' or '-' (a UUID is a good key)")
    return value


def validate_payment_request(body: Mapping[str, Any], today: dt.date, max_wait_seconds: int) -> PaymentRequest:
    """Check every field of a payment request at once; raise ValidationFailed with a reason per bad field.
    WaitSeconds, when given, is whole seconds from 0 to max_wait_seconds (the server's PAYMENT_MAX_WAIT_SECONDS)."""
    errors: dict[str, str] = {}
    for name in body:
        if name.lower() in SECURITY_CODE_FIELDS:
            errors[name] = "a card security code is never accepted; remove this field"
        elif name not in PAYMENT_FIELDS:
            errors[name] = "unknown field"

    def check(field: str, parse: Any) -> Any:
        try:
            return parse(body.get(field))
        except (ValueError, TypeError) as error:  # MoneyError and CardError are ValueErrors
            errors[field] = str(error)
            return None

    invoice_id = check("InvoiceID", _required(parse_invoice_id))
    billers_name = check("BillersName", _name)
    amount = check("BillingAmount", _required(_payment_amount))
    card = check("CardNumber", _required(summarize_card))
    check("ExpiryDate", _required(lambda text: parse_expiry(text, today)))  # checked, never kept
    choices = check("Choices", _choice)
    wants_email = choices in ("email", "both")
    wants_text = choices in ("text", "both")
    email = check("EmailId", lambda value: _contact(value, wants_email, _email))
    phone = check("PhnNumber", lambda value: _contact(value, wants_text, _phone))
    wait_seconds = check("WaitSeconds", lambda value: _wait_seconds(value, max_wait_seconds))
    if errors:
        raise ValidationFailed(errors)
    return PaymentRequest(
        invoice_id=invoice_id,
        billers_name=billers_name,
        amount=amount,
        card=card,
        card_digits=card_digits(body["CardNumber"]),
        expiry=body["ExpiryDate"].strip(),
        email=email,
        phone=phone,
        choices=choices,
        wait_seconds=wait_seconds,
    )


def _required(parse: Any) -> Any:
    def parse_present(value: object) -> Any:
        if value is None or value == "":
            raise ValueError("is required")
        return parse(value)

    return parse_present


def _payment_amount(value: object) -> Decimal:
    # A string, as the API documents: json_body reads JSON numbers as Decimal, which parse_money would take.
    if not isinstance(value, str):
        raise ValueError("must be a string like 12.50")
    amount = parse_money(value)
    if amount == 0:
        raise ValueError("must be greater than 0")
    return amount


def _name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("is required")
    if len(value.strip()) > MAX_NAME_LENGTH:
        raise ValueError(f"must be at most {MAX_NAME_LENGTH} characters")
    return value.strip()


def _choice(value: object) -> str:
    if value not in CHOICES:
        raise ValueError("must be one of email, text, both")
    return str(value)


def _wait_seconds(value: object, maximum: int) -> int | None:
    if value is None:
        return None
    # A JSON integer only: json_body reads 1.5 as a Decimal, and a bool is an int to Python.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise ValueError(f"must be a whole number of seconds from 0 to {maximum}, this server's maximum")
    return value


def _contact(value: object, needed: bool, parse: Any) -> str | None:
    # A contact the chosen alerts need must be present; one given anyway must still be well-formed.
    if value is None or value == "":
        if needed:
            raise ValueError("is required for the chosen alerts")
        return None
    return parse(value)


def _email(value: object) -> str:
    if not isinstance(value, str) or len(value) > MAX_EMAIL_LENGTH or not EMAIL_PATTERN.match(value):
        raise ValueError("must be an email address like name@example.com")
    return value


def _phone(value: object) -> str:
    if not isinstance(value, str) or not E164_PATTERN.match(value):
        raise ValueError("must be an E.164 phone number like +15551234567")
    return value


__all__ = [
    "CardError",
    "MoneyError",
    "PaymentRequest",
    "ValidationFailed",
    "parse_idempotency_key",
    "parse_invoice_id",
    "validate_payment_request",
]
