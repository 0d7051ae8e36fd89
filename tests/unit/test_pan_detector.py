"""The card-data scan's detector (tests/support.pans_in): it must find every way a card number can be written and
leave our own ids and timestamps alone, or the scan proves nothing."""

from __future__ import annotations

import pytest

from tests.helpers.stack import CARD_NUMBERS_USED, pans_in


@pytest.mark.parametrize(
    "card",
    CARD_NUMBERS_USED[:3]
    + ("6011111111111117", "3530111333300000", "30569309025904", "2223003122003222", "4222222222222"),
)
@pytest.mark.parametrize("template", ["{}", "card={};", '{{"CardNumber": "{}"}}', "x {} y"])
def test_a_valid_card_is_found_however_it_is_embedded(card, template):
    assert pans_in(template.format(card)) == [f"{card[:6]}…{card[-4:]}"]


@pytest.mark.parametrize(
    "written",
    ["4111 1111 1111 1111", "4111-1111-1111-1111", "3782 822463 10005", "3056 930902 5904", "4111 1111 1111 1111 003"],
)
def test_grouped_digits_count_too(written):
    assert len(pans_in(f"paid with {written} today")) == 1


@pytest.mark.parametrize(
    "text",
    [
        "4111111111111112",  # Luhn fails (the suites' deliberately bad number)
        "9598893535616 5990656226869",  # our invoice and employee ids: 13 digits, no network's prefix at that length
        "1795991212412",  # an epoch in milliseconds
        "41111111111111111111",  # 20 digits: longer than any card
        "4111 1111",  # too short
        "5105105105105100".replace("5105", "5105a", 1),  # broken by a letter
        "sha256:ab4111111111111111cd",  # a digit run inside a hex digest is part of that word, not a card
        "f04111111111111111",
        # A request id whose first groups are digits (8-4-4), Luhn-valid with a Mastercard prefix: an id, not a card.
        "START RequestId: 55555555-5555-4444-b323-1cf8ea795f36 Version: $LATEST",
        "4111-1111 1111-1111",  # two kinds of separator
        "41111 11111 111111",  # grouped as no card is written
    ],
)
def test_what_is_not_a_card_is_not_reported(text):
    assert pans_in(text) == []
