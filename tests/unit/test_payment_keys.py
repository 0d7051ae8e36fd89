"""The idempotency key the server derives for a request sent without one, and the card fingerprint both keys use."""

import datetime as dt

import pytest

from payproc.cards import card_fingerprint
from payproc.payments import derived_idempotency_key, payment_id_for, request_fingerprint
from payproc.validation import IDEMPOTENCY_KEY_PATTERN, validate_payment_request
from tests.helpers.handlers import CARD, TUTORIAL_PAGE_BODY

TODAY = dt.date(2026, 5, 17)
SECRET = b"the server's secret"


def key_of(secret: bytes = SECRET, **overrides) -> str:
    return derived_idempotency_key(validate_payment_request({**TUTORIAL_PAGE_BODY, **overrides}, TODAY, 60), secret)


def test_the_same_content_derives_the_same_key():
    assert key_of() == key_of()
    # The same invoice, amount and card typed another way, or sent with other details: the same payment.
    assert key_of(CardNumber="4111 1111 1111 1111", InvoiceID=17, BillingAmount="125.5") == key_of()
    assert key_of(EmailId="other@example.com", Choices="both", WaitSeconds=0) == key_of()


@pytest.mark.parametrize(
    "change", [{"BillingAmount": "125.51"}, {"CardNumber": "5555555555554444"}, {"InvoiceID": "18"}]
)
def test_another_amount_card_or_invoice_derives_another_key(change):
    assert key_of(**change) != key_of()


def test_the_key_depends_on_the_servers_secret_and_never_holds_the_card():
    assert key_of(b"another secret") != key_of()
    key = key_of()
    assert CARD not in key and CARD not in payment_id_for(key)
    assert key.startswith("derived:17:125.50:") and IDEMPOTENCY_KEY_PATTERN.match(key)


def test_one_card_fingerprint_for_both_kinds_of_key():
    request = validate_payment_request(TUTORIAL_PAGE_BODY, TODAY, 60)
    assert key_of().endswith(card_fingerprint(CARD, SECRET))
    assert card_fingerprint(CARD, b"key-1") != card_fingerprint(CARD, b"key-2")
    # The request fingerprint (replay or 422) also carries the card only as its keyed fingerprint.
    assert request_fingerprint(request, "key-1") != request_fingerprint(request, "key-2")
