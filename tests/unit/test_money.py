from decimal import Decimal

import pytest

from payproc.money import MoneyError, format_money, money_from_decimal, parse_money


@pytest.mark.parametrize(
    "text, expected",
    [("0", "0"), ("12", "12"), ("12.5", "12.5"), ("12.50", "12.50"), (" 7.05 ", "7.05"), ("000123.00", "123.00")],
)
def test_parses_amounts_with_up_to_two_decimals(text, expected):
    assert parse_money(text) == Decimal(expected)
    assert isinstance(parse_money(text), Decimal)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "-1",
        "+1",
        "1.234",
        "1e3",
        "1E3",
        "NaN",
        "nan",
        "Infinity",
        "inf",
        "-0",
        ".5",
        "5.",
        "1,000.00",
        "12 50",
        "0x10",
        "1_000",
        "٣",
        "1234567890123",
    ],
)
def test_refuses_anything_else(text):
    with pytest.raises(MoneyError):
        parse_money(text)


@pytest.mark.parametrize("value", [1.5, 2, None, b"1.00"])
def test_refuses_non_strings(value):
    with pytest.raises(MoneyError):
        parse_money(value)


def test_checks_decimals_from_storage():
    assert money_from_decimal(Decimal("1.50")) == Decimal("1.5")
    for bad in (Decimal("-1"), Decimal("1.001"), Decimal("NaN"), Decimal("Infinity")):
        with pytest.raises(MoneyError):
            money_from_decimal(bad)


@pytest.mark.parametrize(
    "value, text",
    [(Decimal("0"), "0.00"), (Decimal("12.5"), "12.50"), (Decimal("1E+2"), "100.00"), (Decimal("0.1"), "0.10")],
)
def test_formats_with_two_decimals(value, text):
    assert format_money(value) == text
