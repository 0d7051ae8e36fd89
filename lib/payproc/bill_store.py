"""The balance table (PaymentBalance): one invoice as the API reads it, and what ingestion writes: read a batch's
invoices, then create or update each by the rules of payproc.bills; every update is conditioned on the invoice being
still unpaid and as it was read. (Paying an invoice is payproc.payment_store's transaction.)"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any, Callable, Mapping

from botocore.exceptions import ClientError

from payproc import aws
from payproc.bills import Action, BillRow, decide
from payproc.telemetry import logger

BATCH_GET_LIMIT = 100
BATCH_WRITE_LIMIT = 25
TRANSACTION_LIMIT = 100
MAX_ATTEMPTS = 8
CONDITIONAL_RETRIES = 5


def read_invoice(table_name: str, invoice_id: int, consistent: bool = True) -> dict[str, Any] | None:
    """One invoice's item, or None; `consistent=False` for a lookup that may be a moment behind (half the cost)."""
    key = {"InvoiceID": invoice_id}
    return aws.dynamodb().get_item(TableName=table_name, Key=key, ConsistentRead=consistent).get("Item")


def write_batch(table_name: str, rows: list[BillRow]) -> Counter[Action]:
    """Apply up to 100 valid rows of distinct invoices to the balance table; return how many rows took each action."""
    stored = read_invoices(table_name, [row.invoice_id for row in rows])
    actions: Counter[Action] = Counter()
    creates: list[BillRow] = []
    updates: list[tuple[BillRow, Mapping[str, Any]]] = []
    for row in rows:
        action = decide(row, stored.get(row.invoice_id))
        if action is Action.CREATE:
            creates.append(row)
        elif action is Action.UPDATE:
            updates.append((row, stored[row.invoice_id]))
        else:
            actions[action] += 1
    # New invoices cannot have been paid yet (a payment needs the invoice), so plain puts are safe and cheapest.
    put_items(table_name, [row.as_item() for row in creates])
    actions[Action.CREATE] += len(creates)
    for start in range(0, len(updates), TRANSACTION_LIMIT):
        actions += apply_updates(table_name, updates[start : start + TRANSACTION_LIMIT])
    return actions


def read_invoices(table_name: str, invoice_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The stored items of these invoices (strongly consistent), by invoice id; missing ones are absent."""
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(invoice_ids), BATCH_GET_LIMIT):
        keys = [{"InvoiceID": {"N": str(i)}} for i in invoice_ids[start : start + BATCH_GET_LIMIT]]
        request = {table_name: {"Keys": keys, "ConsistentRead": True}}
        for attempt in range(MAX_ATTEMPTS):
            response = aws.bulk_dynamodb().batch_get_item(RequestItems=request)
            for typed in response.get("Responses", {}).get(table_name, []):
                item = aws.from_attribute_values(typed)
                found[int(item["InvoiceID"])] = item
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            aws.back_off(attempt)
        else:
            raise RuntimeError("DynamoDB kept keys unprocessed; giving up on this batch")
    return found


def put_items(table_name: str, items: list[dict[str, Any]]) -> None:
    """BatchWriteItem the items in groups of 25, retrying unprocessed ones with backoff."""
    for start in range(0, len(items), BATCH_WRITE_LIMIT):
        pending = {
            table_name: [
                {"PutRequest": {"Item": aws.to_attribute_values(item)}}
                for item in items[start : start + BATCH_WRITE_LIMIT]
            ]
        }
        for attempt in range(MAX_ATTEMPTS):
            pending = aws.bulk_dynamodb().batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                break
            aws.back_off(attempt)
        else:
            raise RuntimeError("DynamoDB kept items unprocessed; giving up on this batch")


def apply_updates(table_name: str, updates: list[tuple[BillRow, Mapping[str, Any]]]) -> Counter[Action]:
    """Update unpaid invoices in one transaction; if any changed since read, settle each one on its own."""
    if not updates:
        return Counter()
    try:
        aws.dynamodb().transact_write_items(TransactItems=[_update(row, seen, table_name) for row, seen in updates])
        return Counter({Action.UPDATE: len(updates)})
    except ClientError as error:
        if aws.error_code(error) != aws.CANCELLED:
            raise
        logger.info(
            "update_transaction_cancelled",
            invoices=len(updates),
            reasons=", ".join(sorted(aws.cancellation_reasons(error))) or "no reason given",
            then="applying them one by one",
        )
    return Counter(apply_one(table_name, row) for row, _ in updates)


def apply_one(table_name: str, row: BillRow, sleep: Callable[[float], None] = time.sleep) -> Action:
    """Re-read one invoice and apply the row by the same rules, retrying if it changes under us; return the action."""
    client = aws.dynamodb()
    for attempt in range(CONDITIONAL_RETRIES):
        stored = read_invoice(table_name, row.invoice_id)
        action = decide(row, stored)
        try:
            if action is Action.CREATE:
                client.put_item(
                    TableName=table_name, Item=row.as_item(), ConditionExpression="attribute_not_exists(InvoiceID)"
                )
            elif action is Action.UPDATE:
                client.update_item(**_update(row, stored, table_name)["Update"])
        except ClientError as error:
            if not aws.is_conflict(error):
                raise
            aws.back_off(attempt, sleep)
            continue
        return action
    raise RuntimeError(f"invoice {row.invoice_id} kept changing while it was being updated")


def _update(row: BillRow, stored: Mapping[str, Any], table_name: str) -> dict[str, Any]:
    """A TransactWriteItems Update that applies the row only if the invoice is still unpaid and as it was read."""
    return {
        "Update": {
            "TableName": table_name,
            "Key": {"InvoiceID": row.invoice_id},
            "UpdateExpression": "SET CustomerName = :name, Balance = :balance, IsProcessed = :flag",
            "ConditionExpression": "IsProcessed = :unpaid AND Balance = :seen_balance AND CustomerName = :seen_name",
            "ExpressionAttributeValues": {
                ":name": row.customer_name,
                ":balance": row.balance,
                ":flag": row.is_processed,
                ":unpaid": 0,
                ":seen_balance": stored["Balance"],
                ":seen_name": stored["CustomerName"],
            },
        }
    }
