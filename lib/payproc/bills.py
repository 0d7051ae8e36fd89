"""Rules of the bills-due ingestion: validate a CSV row, decide what it does to the stored invoice.

Decisions (docs/ingestion.md):
- a new invoice is created as the row says;
- an invoice already paid (IsProcessed = 1) is left as is, whatever the row says (counted as skipped): a new day's
  file never un-pays a paid invoice nor changes what was paid;
- an unpaid invoice whose row is identical is left as is (skipped), so re-uploading a file writes nothing;
- an unpaid invoice whose row differs (amount, name, or marked paid) is updated to the row, on the condition that it
  is still exactly what was read (so a payment committed in between wins).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Mapping

from payproc.money import MoneyError, parse_money
from payproc.validation import parse_invoice_id

BILLS_HEADER = ("InvoiceID", "CustomerName", "Balance", "IsProcessed")
MAX_CUSTOMER_NAME_LENGTH = 200


def masked_name(name: str) -> str:
    """The customer name a lookup by invoice id shows: enough for the payer to recognise the bill, too little to
    harvest customers by walking ids ("Carol Bailey" -> "C. Bailey", "Lovelace, Ada" -> "A. Lovelace"): the family
    name whole, every other name as its initial, a one-word name as its initial alone."""
    family, comma, given = name.partition(",")
    words = (given.split() + family.split()) if comma else name.split()
    if len(words) < 2:
        return f"{words[0][0]}." if words else ""
    return " ".join([*(f"{word[0]}." for word in words[:-1]), words[-1]])


class Action(enum.Enum):
    """What one row does to the balance table."""

    CREATE = "create"
    UPDATE = "update"
    SKIP_PAID = "skip_paid"
    SKIP_UNCHANGED = "skip_unchanged"


@dataclass(frozen=True)
class BillRow:
    """A validated bills-due row."""

    invoice_id: int
    customer_name: str
    balance: Decimal
    is_processed: int

    def as_item(self) -> dict[str, Any]:
        """The balance-table item this row describes."""
        return {
            "InvoiceID": self.invoice_id,
            "CustomerName": self.customer_name,
            "Balance": self.balance,
            "IsProcessed": self.is_processed,
        }


def parse_bill_row(row: Mapping[str, str]) -> BillRow:
    """Validate a CSV row (fields by header name); raise ValueError naming the field and the reason."""
    try:
        invoice_id = parse_invoice_id(row["InvoiceID"].strip())
    except ValueError as error:
        raise ValueError(f"InvoiceID {error}") from None
    name = row["CustomerName"].strip()
    if not name:
        raise ValueError("CustomerName is empty")
    if len(name) > MAX_CUSTOMER_NAME_LENGTH:
        raise ValueError(f"CustomerName is longer than {MAX_CUSTOMER_NAME_LENGTH} characters")
    try:
        balance = parse_money(row["Balance"])
    except MoneyError as error:
        raise ValueError(f"Balance {error}") from None
    flag = row["IsProcessed"].strip()
    if flag not in ("0", "1"):
        raise ValueError("IsProcessed must be 0 or 1")
    return BillRow(invoice_id, name, balance, int(flag))


def decide(row: BillRow, stored: Mapping[str, Any] | None) -> Action:
    """What the row does given the stored item (None when the invoice is new)."""
    if stored is None:
        return Action.CREATE
    if int(stored.get("IsProcessed", 0)) == 1:
        return Action.SKIP_PAID
    if _same_bill(row, stored):
        return Action.SKIP_UNCHANGED
    return Action.UPDATE


def _same_bill(row: BillRow, stored: Mapping[str, Any]) -> bool:
    return (
        stored.get("CustomerName") == row.customer_name
        and Decimal(stored.get("Balance", -1)) == row.balance
        and int(stored.get("IsProcessed", 0)) == row.is_processed
    )


def last_row_per_invoice(rows: list[tuple[int, BillRow]]) -> tuple[list[tuple[int, BillRow]], int]:
    """Keep the last row of each invoice in a batch (a later line supersedes an earlier one); also the dropped count."""
    latest: dict[int, tuple[int, BillRow]] = {}
    for line, row in rows:
        latest[row.invoice_id] = (line, row)
    return list(latest.values()), len(rows) - len(latest)
