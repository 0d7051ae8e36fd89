"""Payment cards: Luhn check, brand, the masked form (brand + last four) and the expiry date.

The full number exists only inside start_payment's request handling; everything else sees a CardSummary.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass

# Cards are 12 to 19 digits (ISO/IEC 7812); people type them with spaces or hyphens between groups.
CARD_PATTERN = re.compile(r"^[0-9](?:[ -]?[0-9]){11,18}$")
EXPIRY_PATTERN = re.compile(r"^(0[1-9]|1[0-2])/([0-9]{2})$")


class CardError(ValueError):
    """A card number or expiry date that cannot be accepted."""


@dataclass(frozen=True)
class CardSummary:
    """What may be kept of a card: its brand and last four digits."""

    brand: str
    last4: str


def card_digits(text: object) -> str:
    """The digits of a typed card number (spaces/hyphens between groups allowed); raise CardError otherwise."""
    if not isinstance(text, str) or not CARD_PATTERN.match(text.strip()):
        raise CardError("must be 12 to 19 digits")
    return re.sub(r"[ -]", "", text.strip())


def luhn_valid(digits: str) -> bool:
    """Whether a digit string passes the Luhn checksum."""
    if not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:  # every second digit from the right is doubled
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def card_brand(digits: str) -> str:
    """The card network from the number's prefix (IIN ranges), or "Card" when it is not a known one."""
    two, four = int(digits[:2]), int(digits[:4])
    if digits.startswith("4"):
        return "Visa"
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return "Mastercard"
    if two in (34, 37):
        return "Amex"
    if digits.startswith(("6011", "65")) or 644 <= int(digits[:3]) <= 649:
        return "Discover"
    return "Card"


def summarize_card(text: object) -> CardSummary:
    """Validate a typed card number (format and Luhn) and reduce it to brand + last four; raise CardError."""
    digits = card_digits(text)
    if not luhn_valid(digits):
        raise CardError("is not a valid card number (checksum fails)")
    return CardSummary(brand=card_brand(digits), last4=digits[-4:])


def card_fingerprint(digits: str, secret: bytes) -> str:
    """A keyed fingerprint of a card number: HMAC-SHA256 under a secret that is never stored with it. A plain hash
    would be easy to reverse (a card number has few unknown digits once its brand and last four are known)."""
    return hmac.new(secret, digits.encode(), hashlib.sha256).hexdigest()


def masked(summary: CardSummary) -> str:
    """A human form of a masked card, e.g. "Visa ending 1111"."""
    return f"{summary.brand} ending {summary.last4}"


def parse_expiry(text: object, today: dt.date) -> tuple[int, int]:
    """(month, four-digit year) of an MM/YY expiry that is not past (a card is valid through its month)."""
    if not isinstance(text, str):
        raise CardError("must be MM/YY")
    match = EXPIRY_PATTERN.match(text.strip())
    if not match:
        raise CardError("must be MM/YY with a month from 01 to 12")
    month, year = int(match.group(1)), 2000 + int(match.group(2))
    if (year, month) < (today.year, today.month):
        raise CardError("the card has expired")
    return month, year
