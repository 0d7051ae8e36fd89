from decimal import Decimal

import pytest

from payproc.bill_ingest import IngestSummary
from payproc.bills import Action, BillRow, decide, last_row_per_invoice, masked_name, parse_bill_row

GOOD = {"InvoiceID": "17", "CustomerName": " Ada ", "Balance": "10.50", "IsProcessed": "0"}


def row(**overrides):
    return parse_bill_row({**GOOD, **overrides})


def test_a_good_row():
    assert row() == BillRow(17, "Ada", Decimal("10.50"), 0)


@pytest.mark.parametrize(
    "field, value, reason",
    [
        ("InvoiceID", "-3", "InvoiceID"),
        ("InvoiceID", "0", "InvoiceID"),
        ("InvoiceID", "1.0", "InvoiceID"),
        ("InvoiceID", "x", "InvoiceID"),
        ("CustomerName", "", "CustomerName"),
        ("CustomerName", "  ", "CustomerName"),
        ("Balance", "5.001", "Balance"),
        ("Balance", "-1", "Balance"),
        ("Balance", "NaN", "Balance"),
        ("Balance", "1e3", "Balance"),
        ("IsProcessed", "7", "IsProcessed"),
        ("IsProcessed", "", "IsProcessed"),
    ],
)
def test_bad_rows_name_the_field(field, value, reason):
    with pytest.raises(ValueError, match=reason):
        row(**{field: value})


def stored(balance="10.50", processed=0, name="Ada"):
    return {
        "InvoiceID": Decimal(17),
        "CustomerName": name,
        "Balance": Decimal(balance),
        "IsProcessed": Decimal(processed),
    }


def test_a_new_invoice_is_created():
    assert decide(row(), None) is Action.CREATE


@pytest.mark.parametrize("update", [{}, {"Balance": "99.00"}, {"IsProcessed": "0", "Balance": "0"}])
def test_a_paid_invoice_is_never_touched(update):
    assert decide(row(**update), stored(balance="0", processed=1)) is Action.SKIP_PAID


def test_an_identical_row_changes_nothing():
    assert decide(row(Balance="10.5"), stored()) is Action.SKIP_UNCHANGED


@pytest.mark.parametrize("update", [{"Balance": "12.00"}, {"CustomerName": "Ada L."}, {"IsProcessed": "1"}])
def test_a_changed_unpaid_invoice_is_updated(update):
    assert decide(row(**update), stored()) is Action.UPDATE


def test_the_last_row_of_an_invoice_in_a_batch_wins():
    rows = [(2, row(Balance="1")), (3, row(InvoiceID="18")), (4, row(Balance="2"))]
    kept, dropped = last_row_per_invoice(rows)
    assert dropped == 1 and sorted((line, r.balance) for line, r in kept) == [(3, Decimal("10.50")), (4, Decimal(2))]


def test_summaries_add_up_and_survive_a_round_trip():
    total = IngestSummary(read=3, created=1, skipped_paid=1, rejected=1)
    total.add(IngestSummary.from_dict(IngestSummary(read=2, updated=2).as_dict()))
    assert total.as_dict()["written"] == 3 and total.skipped == 1 and total.read == 5


@pytest.mark.parametrize(
    "name, shown",
    [
        ("Carol Bailey", "C. Bailey"),
        ("Mary Ann  Smith", "M. A. Smith"),
        ("Lovelace, Ada", "A. Lovelace"),  # "Family, Given", as such files often have it
        ("Zoë Ångström", "Z. Ångström"),
        ("Cher", "C."),  # one word: its initial alone, never the word
        ("<script>alert(1)</script>", "<."),
    ],
)
def test_a_lookup_shows_the_family_name_and_initials_only(name, shown):
    assert masked_name(name) == shown
