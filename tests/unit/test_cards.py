import datetime as dt

import pytest

from payproc.cards import CardError, card_brand, luhn_valid, masked, parse_expiry, summarize_card

TODAY = dt.date(2026, 5, 17)


@pytest.mark.parametrize(
    "number", ["4111111111111111", "5555555555554444", "378282246310005", "6011111111111117", "2223003122003222"]
)
def test_luhn_accepts_valid_numbers(number):
    assert luhn_valid(number)


@pytest.mark.parametrize("number", ["4111111111111112", "1234567812345678", "", "41111111abc11111"])
def test_luhn_refuses_invalid_numbers(number):
    assert not luhn_valid(number)


@pytest.mark.parametrize(
    "number, brand",
    [
        ("4111111111111111", "Visa"),
        ("5555555555554444", "Mastercard"),
        ("2223003122003222", "Mastercard"),
        ("378282246310005", "Amex"),
        ("6011111111111117", "Discover"),
        ("9999999999999995", "Card"),
    ],
)
def test_brand_from_prefix(number, brand):
    assert card_brand(number) == brand


def test_summary_keeps_only_brand_and_last_four():
    summary = summarize_card("4111 1111-1111 1111")
    assert (summary.brand, summary.last4) == ("Visa", "1111")
    assert "4111111111111111" not in repr(summary) and masked(summary) == "Visa ending 1111"


@pytest.mark.parametrize(
    "text", ["4111-abcd", "4111111111111112", "41111111111", "4" * 20, 4111111111111111, None, "4111  1111 1111 1111"]
)
def test_summary_refuses_bad_numbers(text):
    with pytest.raises(CardError):
        summarize_card(text)


@pytest.mark.parametrize("text, expected", [("05/26", (5, 2026)), ("12/39", (12, 2039)), ("01/27", (1, 2027))])
def test_expiry_valid_through_its_month(text, expected):
    assert parse_expiry(text, TODAY) == expected


@pytest.mark.parametrize("text", ["04/26", "01/20", "13/30", "00/30", "1/30", "12/2030", "12-30", "", None])
def test_expiry_refused(text):
    with pytest.raises(CardError):
        parse_expiry(text, TODAY)
