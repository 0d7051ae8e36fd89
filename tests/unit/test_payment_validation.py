import datetime as dt
from decimal import Decimal

import pytest

from payproc.validation import (
    MAX_INVOICE_ID,
    ValidationFailed,
    parse_idempotency_key,
    parse_invoice_id,
    validate_payment_request,
)

TODAY = dt.date(2026, 5, 17)
MAX_WAIT = 60


def body(**overrides):
    base = {
        "InvoiceID": 17,
        "BillersName": "Ada Lovelace",
        "BillingAmount": "125.50",
        "CardNumber": "4111111111111111",
        "ExpiryDate": "12/39",
        "EmailId": "ada@example.com",
        "PhnNumber": "+15551234567",
        "Choices": "both",
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not ...}


def errors_of(payload):
    with pytest.raises(ValidationFailed) as failed:
        validate_payment_request(payload, TODAY, MAX_WAIT)
    return failed.value.errors


def test_a_good_request_is_reduced_to_brand_and_last_four():
    request = validate_payment_request(body(), TODAY, MAX_WAIT)
    assert request.invoice_id == 17 and request.amount == Decimal("125.50")
    assert (request.card.brand, request.card.last4) == ("Visa", "1111")
    assert "4111111111111111" not in repr(request)


@pytest.mark.parametrize(
    "field, value",
    [
        ("InvoiceID", 0),
        ("InvoiceID", -1),
        ("InvoiceID", "abc"),
        ("InvoiceID", True),
        ("InvoiceID", Decimal("1.5")),
        ("InvoiceID", MAX_INVOICE_ID + 1),
        ("InvoiceID", ...),
        ("BillersName", ""),
        ("BillersName", "   "),
        ("BillersName", "x" * 201),
        ("BillersName", 5),
        ("BillingAmount", "125.505"),
        ("BillingAmount", "NaN"),
        ("BillingAmount", "-1.00"),
        ("BillingAmount", "0.00"),
        ("BillingAmount", 125.5),
        ("BillingAmount", ...),
        ("CardNumber", "4111111111111112"),
        ("CardNumber", "4111-abcd"),
        ("CardNumber", ...),
        ("ExpiryDate", "01/20"),
        ("ExpiryDate", "13/30"),
        ("ExpiryDate", "2039-12"),
        ("EmailId", "not-an-email"),
        ("EmailId", "a@b"),
        ("PhnNumber", "555-0100"),
        ("PhnNumber", "+0123456789"),
        ("Choices", "pigeon"),
        ("Choices", ...),
    ],
)
def test_each_bad_field_is_named_with_a_reason(field, value):
    errors = errors_of(body(**{field: value}))
    assert set(errors) == {field} and errors[field]


@pytest.mark.parametrize(
    "choice, missing", [("email", "EmailId"), ("text", "PhnNumber"), ("both", "EmailId"), ("both", "PhnNumber")]
)
def test_the_contact_of_a_chosen_alert_is_required(choice, missing):
    assert set(errors_of(body(Choices=choice, **{missing: ""}))) == {missing}


def test_a_contact_not_needed_may_be_absent():
    request = validate_payment_request(body(Choices="text", EmailId=...), TODAY, MAX_WAIT)
    assert request.email is None and request.wants_text() and not request.wants_email()


@pytest.mark.parametrize("seconds", [0, 10, MAX_WAIT])
def test_wait_seconds_as_the_tutorials_page_sends_them(seconds):
    assert validate_payment_request(body(WaitSeconds=seconds), TODAY, MAX_WAIT).wait_seconds == seconds
    # Not sent, or JSON null: the server's wait applies.
    assert validate_payment_request(body(), TODAY, MAX_WAIT).wait_seconds is None
    assert validate_payment_request(body(WaitSeconds=None), TODAY, MAX_WAIT).wait_seconds is None


@pytest.mark.parametrize("seconds", [-1, MAX_WAIT + 1, 10**9, Decimal("1.5"), Decimal("10.0"), "10", True])
def test_wait_seconds_must_be_whole_seconds_up_to_the_servers_maximum(seconds):
    errors = errors_of(body(WaitSeconds=seconds))
    assert set(errors) == {"WaitSeconds"} and f"from 0 to {MAX_WAIT}" in errors["WaitSeconds"]


def test_the_maximum_is_the_servers():
    assert validate_payment_request(body(WaitSeconds=0), TODAY, 0).wait_seconds == 0
    with pytest.raises(ValidationFailed, match="invalid request") as failed:
        validate_payment_request(body(WaitSeconds=5), TODAY, 4)
    assert "from 0 to 4" in failed.value.errors["WaitSeconds"]


@pytest.mark.parametrize("name", ["CVV", "cvv", "Cvc", "SecurityCode"])
def test_a_security_code_is_never_accepted(name):
    errors = errors_of(body(**{name: "123"}))
    assert name in errors and "never" in errors[name]


def test_unknown_fields_and_all_problems_are_reported_together():
    errors = errors_of(body(Extra=1, CardNumber="1", Choices="x"))
    assert set(errors) == {"Extra", "CardNumber", "Choices"}


@pytest.mark.parametrize("value, expected", [("1", 1), (42, 42), ("9007199254740991", MAX_INVOICE_ID)])
def test_invoice_ids(value, expected):
    assert parse_invoice_id(value) == expected


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "1e9", "abc", "", None, "01", " 1", "9007199254740992", False])
def test_invoice_ids_refused(value):
    with pytest.raises(ValueError):
        parse_invoice_id(value)


def test_idempotency_keys():
    assert parse_idempotency_key("0b7c1d3e-8f4a-4c2b-9a6d-1e2f3a4b5c6d")
    assert parse_idempotency_key(None) is None  # not sent: the server derives one from the request
    for bad in ("", "has space", "x" * 256, "ключ"):
        with pytest.raises(ValueError):
            parse_idempotency_key(bad)
