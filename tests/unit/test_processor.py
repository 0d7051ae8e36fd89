"""payproc.processor's test processor: its documented test cards decline as listed, every other card is approved."""

import pytest

from payproc.cards import luhn_valid
from payproc.processor import (
    DECLINE_MESSAGES,
    TEST_CARDS,
    CardDeclined,
    ProcessorUnavailable,
    TestProcessor,
    decline_code,
)

processor = TestProcessor()


@pytest.mark.parametrize("last4, code", sorted(TEST_CARDS.items()))
def test_each_test_card_is_a_valid_number_that_declines_with_its_code(last4, code):
    number = "400000000000" + last4  # as docs/payments.md lists them
    assert luhn_valid(number) and code in DECLINE_MESSAGES
    token = processor.tokenize(number)
    assert number not in token
    expected = ProcessorUnavailable if code == "processor_error" else CardDeclined
    with pytest.raises(expected) as refused:
        processor.charge(token, 10, idempotency_key="p1")
    assert decline_code(type(refused.value).__name__, str(refused.value)) == code


@pytest.mark.parametrize("number", ["4111111111111111", "5555555555554444", "4000000000000010"])
def test_every_other_card_is_charged_once_per_idempotency_key(number):
    token = processor.tokenize(number)
    assert processor.charge(token, 10, "p1") == processor.charge(token, 10, "p1") != processor.charge(token, 10, "p2")


def test_a_test_card_may_have_any_digits_between_its_prefix_and_its_last_four():
    # So tests can use a card of their own: the per-card limit counts each number separately.
    with pytest.raises(CardDeclined, match="insufficient_funds"):
        processor.charge(processor.tokenize("4000009876549995"), 10, "p1")


def test_an_error_that_is_not_the_processors_is_no_decline():
    assert decline_code("PaymentRejected", "invoice 17 is already paid") is None
    assert decline_code("CardDeclined", "a code it does not know") == "generic_decline"


def test_a_refund_is_logged_with_the_charge_reference(log_lines):
    processor.refund("test_charge_p1", 10)
    assert [(line["message"], line["reference"]) for line in log_lines()] == [("charge_refunded", "test_charge_p1")]
