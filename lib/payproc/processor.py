"""The card processor seam: what the payment flow asks of whoever moves the money, and the local test processor.

A real processor's adapter implements CardProcessor: `tokenize` at intake (the only place the card number exists:
it goes to the processor's vault, or the page sends the processor's token in its place), `charge` in the workflow
under the payment's id as idempotency key (so a retried step never charges twice), `refund` when the invoice was paid
by another payment meanwhile. PAYMENT_PROCESSOR names the adapter; "test", the only one here, is TestProcessor.

TestProcessor approves every card except its test cards, in the manner of the big processors' test numbers: a Visa
number that starts 400000 and ends in one of TEST_CARDS' last fours (e.g. 4000 0000 0000 0002, Luhn-valid as every
card must be) declines as listed. docs/payments.md lists them for users.
"""

from __future__ import annotations

import functools
import os
from decimal import Decimal
from typing import Protocol

from payproc.config import ConfigError
from payproc.telemetry import logger

TEST_CARD_PREFIX = "400000"
APPROVE = "approve"
PROCESSOR_ERROR = "processor_error"


class CardDeclined(Exception):
    """The processor refused the charge; str() is the decline code (TEST_CARDS' codes), which DECLINE_MESSAGES
    explains to the customer. Final: the workflow records it, never retries it."""


class ProcessorUnavailable(Exception):
    """The processor could not answer (an outage, a time-out): the workflow retries the step, then records it as a
    decline with the code processor_error."""


# Decline code -> what the page tells the customer. Nothing was charged in any of them.
DECLINE_MESSAGES = {
    "generic_decline": "Your card was declined. Use another card, or ask your bank why.",
    "insufficient_funds": "Your card was declined for insufficient funds. Use another card.",
    "expired_card": "Your card has expired. Use another card.",
    PROCESSOR_ERROR: "The card processor could not be reached, so nothing was charged. Try again in a few minutes.",
}

# Test cards: last four digits -> the decline code a charge gets (PROCESSOR_ERROR: ProcessorUnavailable every time).
TEST_CARDS = {
    "0002": "generic_decline",
    "9995": "insufficient_funds",
    "0069": "expired_card",
    "0119": PROCESSOR_ERROR,
}


class CardProcessor(Protocol):
    """What the payment flow needs of a card processor."""

    def tokenize(self, card_digits: str) -> str:
        """A token the processor charges in place of the card number (safe to store and pass on)."""

    def charge(self, token: str, amount: Decimal, idempotency_key: str) -> str:
        """Charge the card once per idempotency key; the charge's reference. Raises CardDeclined or
        ProcessorUnavailable."""

    def refund(self, reference: str, amount: Decimal) -> None:
        """Give a charge back in full."""


class TestProcessor:
    """The local stand-in: approves every card but the test cards; its tokens name what a charge will do."""

    __test__ = False  # not a pytest test class, whatever its name

    def tokenize(self, card_digits: str) -> str:
        behaviour = APPROVE
        if card_digits.startswith(TEST_CARD_PREFIX) and len(card_digits) == 16:
            behaviour = TEST_CARDS.get(card_digits[-4:], APPROVE)
        return f"test_{behaviour}"

    def charge(self, token: str, amount: Decimal, idempotency_key: str) -> str:
        behaviour = token.removeprefix("test_")
        if behaviour == PROCESSOR_ERROR:
            raise ProcessorUnavailable("the test processor's processor-error card: no answer")
        if behaviour in DECLINE_MESSAGES:
            raise CardDeclined(behaviour)
        if behaviour != APPROVE:
            raise CardDeclined("generic_decline")  # a token it never issued
        return f"test_charge_{idempotency_key}"

    def refund(self, reference: str, amount: Decimal) -> None:
        logger.info("charge_refunded", reference=reference, amount=str(amount))


PROCESSORS = {"test": TestProcessor}


@functools.cache
def card_processor() -> CardProcessor:
    """The processor PAYMENT_PROCESSOR names (default "test"), one per container."""
    name = os.environ.get("PAYMENT_PROCESSOR", "test").strip() or "test"
    if name not in PROCESSORS:
        raise ConfigError(f"PAYMENT_PROCESSOR must be one of {', '.join(sorted(PROCESSORS))}, got {name!r}")
    return PROCESSORS[name]()


def decline_code(error_name: str, message: str) -> str | None:
    """The decline code of a workflow step's error (its Lambda errorType and errorMessage), or None when the error
    is not the processor's answer."""
    if error_name == ProcessorUnavailable.__name__:
        return PROCESSOR_ERROR
    if error_name == CardDeclined.__name__:
        return message if message in DECLINE_MESSAGES else "generic_decline"
    return None
