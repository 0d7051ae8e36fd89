"""Random amounts of money as exact two-decimal `Decimal`s (drawn in whole cents, never through floats)."""

from __future__ import annotations

import random
from decimal import Decimal


def to_cents(amount: Decimal) -> int:
    """Whole cents of an amount that has at most two decimals (more is a caller's mistake, not rounded away)."""
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"{amount} has more than two decimals")
    return int(cents)


def random_amount(rng: random.Random, low: Decimal, high: Decimal) -> Decimal:
    """An amount between low and high inclusive, with exactly two decimals (e.g. Decimal('6123.40'))."""
    return Decimal(rng.randint(to_cents(low), to_cents(high))).scaleb(-2)
