"""Money as Decimal: strict parsing of amounts written by people or files, and formatting with two decimals."""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, Decimal, InvalidOperation

CENT = Decimal("0.01")
# Digits, optionally a point and one or two decimals. No sign, exponent, NaN or infinity can match, so a
# string that passes is always a finite non-negative amount. Twelve integer digits bound the size of a bill.
MONEY_PATTERN = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,2})?$")


class MoneyError(ValueError):
    """An amount that is not a non-negative number with at most two decimals."""


def parse_money(text: object) -> Decimal:
    """Parse a non-negative amount with at most two decimals (e.g. "12", "12.5", "12.50"); raise MoneyError."""
    if isinstance(text, Decimal):
        return money_from_decimal(text)
    if not isinstance(text, str):
        # Floats are refused on purpose: 0.1 + 0.2 is not money.
        raise MoneyError("must be a string like 12.50")
    candidate = text.strip()
    if not MONEY_PATTERN.match(candidate):
        raise MoneyError("must be a non-negative amount with at most two decimals, like 12.50")
    return Decimal(candidate)


def money_from_decimal(value: Decimal) -> Decimal:
    """Check a Decimal (e.g. read from DynamoDB) is a finite non-negative amount with at most two decimals."""
    try:
        valid = value.is_finite() and value >= 0 and value == value.quantize(CENT, rounding=ROUND_DOWN)
    except InvalidOperation:  # too many digits to quantize
        valid = False
    if not valid:
        raise MoneyError("must be a non-negative amount with at most two decimals")
    return value


def format_money(value: Decimal) -> str:
    """Format an amount with exactly two decimals, e.g. Decimal("12.5") -> "12.50"."""
    return f"{value.quantize(CENT):f}"
