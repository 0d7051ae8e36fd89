"""get_balance: GET /paymentbalance/{InvoiceID} and the original GET /paymentbalance/id?InvoiceID=N."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Mapping

from payproc import bill_store, limits
from payproc.bills import masked_name
from payproc.config import get_settings
from payproc.http import ApiError, api_handler, client_address, json_response, path_parameter, query_parameter
from payproc.money import format_money
from payproc.validation import parse_invoice_id


def requested_invoice_id(event: Mapping[str, Any]) -> str | None:
    """The raw invoice id of either route: the path's {InvoiceID}, else the query's InvoiceID."""
    return path_parameter(event, "InvoiceID") or query_parameter(event, "InvoiceID")


def balance_view(item: Mapping[str, Any]) -> dict[str, Any]:
    """The API form of a balance item: ids and flags as integers, the balance as a two-decimal string, and the
    customer's name masked (anyone may look up any id; docs/payments.md, "The public page")."""
    return {
        "InvoiceID": int(item["InvoiceID"]),
        "CustomerName": masked_name(item["CustomerName"]),
        "Balance": format_money(Decimal(item["Balance"])),
        "IsProcessed": int(item["IsProcessed"]),
    }


@api_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answer 200 with the bill, 400 for an id that is not a positive integer, 404 for an unknown invoice, 429 past the
    client's lookups per window (every lookup counts, found or not: walking ids is what the limit stops)."""
    limits.hit(limits.lookup_limit(client_address(event)))
    try:
        invoice_id = parse_invoice_id(requested_invoice_id(event))
    except ValueError as error:
        raise ApiError(400, "invalid invoice id", {"InvoiceID": str(error)}) from None
    item = bill_store.read_invoice(get_settings().require("balance_table"), invoice_id, consistent=False)
    if item is None:
        raise ApiError(404, f"invoice {invoice_id} not found")
    return json_response(200, balance_view(item))
