"""get_balance: GET /paymentbalance/{InvoiceID} and the original GET /paymentbalance/id?InvoiceID=N."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Mapping

from payproc import aws
from payproc.config import get_settings
from payproc.http import api_handler, error_response, json_response, path_parameter, query_parameter
from payproc.money import format_money
from payproc.validation import parse_invoice_id


def requested_invoice_id(event: Mapping[str, Any]) -> str | None:
    """The raw invoice id of either route: the path's {InvoiceID}, else the query's InvoiceID."""
    return path_parameter(event, "InvoiceID") or query_parameter(event, "InvoiceID")


def balance_view(item: Mapping[str, Any]) -> dict[str, Any]:
    """The API form of a balance item: ids and flags as integers, the balance as a two-decimal string."""
    return {
        "InvoiceID": int(item["InvoiceID"]),
        "CustomerName": item["CustomerName"],
        "Balance": format_money(Decimal(item["Balance"])),
        "IsProcessed": int(item["IsProcessed"]),
    }


@api_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answer 200 with the bill, 400 for an id that is not a positive integer, 404 for an unknown invoice."""
    try:
        invoice_id = parse_invoice_id(requested_invoice_id(event))
    except ValueError as error:
        return error_response(400, "invalid invoice id", {"InvoiceID": str(error)})
    table = aws.table(get_settings().require("balance_table"))
    item = table.get_item(Key={"InvoiceID": invoice_id}).get("Item")
    if item is None:
        return error_response(404, f"invoice {invoice_id} not found")
    return json_response(200, balance_view(item))
