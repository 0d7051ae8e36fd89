"""The balance table side of ingestion: read the current invoices of a batch, then create or update them."""

from __future__ import annotations

import random
import time
from typing import Any, Callable, Mapping

from botocore.exceptions import ClientError

from payproc import aws
from payproc.bills import Action, BillRow, IngestSummary, decide, last_row_per_invoice, update_for
from payproc.telemetry import logger

BATCH_GET_LIMIT = 100
BATCH_WRITE_LIMIT = 25
TRANSACTION_LIMIT = 100
MAX_ATTEMPTS = 8
CONDITIONAL_RETRIES = 5
RETRYABLE_CONDITIONAL_CODES = ("ConditionalCheckFailedException", "TransactionConflictException")


def write_batch(table_name: str, rows: list[tuple[int, BillRow]]) -> IngestSummary:
    """Apply up to 100 valid rows to the balance table by the rules of payproc.bills; return their counts."""
    summary = IngestSummary()
    rows, summary.superseded = last_row_per_invoice(rows)
    stored = read_invoices(table_name, [row.invoice_id for _, row in rows])
    creates: list[BillRow] = []
    updates: list[tuple[BillRow, Mapping[str, Any]]] = []
    for _, row in rows:
        action = decide(row, stored.get(row.invoice_id))
        if action is Action.CREATE:
            creates.append(row)
        elif action is Action.UPDATE:
            updates.append((row, stored[row.invoice_id]))
        elif action is Action.SKIP_PAID:
            summary.skipped_paid += 1
        else:
            summary.skipped_unchanged += 1
    # New invoices cannot have been paid yet (a payment needs the invoice), so plain puts are safe and cheapest.
    put_items(table_name, [row.as_item() for row in creates])
    summary.created += len(creates)
    for start in range(0, len(updates), TRANSACTION_LIMIT):
        summary.add(apply_updates(table_name, updates[start : start + TRANSACTION_LIMIT]))
    return summary


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
            _back_off(attempt)
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
            _back_off(attempt)
        else:
            raise RuntimeError("DynamoDB kept items unprocessed; giving up on this batch")


def apply_updates(table_name: str, updates: list[tuple[BillRow, Mapping[str, Any]]]) -> IngestSummary:
    """Update unpaid invoices in one transaction; if any changed since read, settle each one on its own."""
    if not updates:
        return IngestSummary()
    try:
        aws.dynamodb().transact_write_items(TransactItems=[update_for(row, seen, table_name) for row, seen in updates])
        return IngestSummary(updated=len(updates))
    except ClientError as error:
        if error.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        logger.info(
            "update_transaction_cancelled",
            invoices=len(updates),
            reasons=_reasons(error),
            then="applying them one by one",
        )
    summary = IngestSummary()
    for row, _ in updates:
        summary.add(apply_one(table_name, row))
    return summary


def apply_one(table_name: str, row: BillRow, sleep: Callable[[float], None] = time.sleep) -> IngestSummary:
    """Re-read one invoice and apply the row by the same rules, retrying if it changes under us."""
    client = aws.dynamodb()
    for attempt in range(CONDITIONAL_RETRIES):
        key = {"InvoiceID": row.invoice_id}
        stored = client.get_item(TableName=table_name, Key=key, ConsistentRead=True).get("Item")
        action = decide(row, stored)
        try:
            if action is Action.CREATE:
                client.put_item(
                    TableName=table_name, Item=row.as_item(), ConditionExpression="attribute_not_exists(InvoiceID)"
                )
                return IngestSummary(created=1)
            if action is Action.UPDATE:
                client.update_item(**update_for(row, stored, table_name)["Update"])
                return IngestSummary(updated=1)
        except ClientError as error:
            if error.response["Error"]["Code"] not in RETRYABLE_CONDITIONAL_CODES:
                raise
            _back_off(attempt, sleep)
            continue
        return IngestSummary(skipped_paid=1) if action is Action.SKIP_PAID else IngestSummary(skipped_unchanged=1)
    raise RuntimeError(f"invoice {row.invoice_id} kept changing while it was being updated")


def _reasons(error: ClientError) -> str:
    codes = [reason.get("Code", "?") for reason in error.response.get("CancellationReasons", [])]
    return ", ".join(sorted(set(codes) - {"None"})) or "no reason given"


def _back_off(attempt: int, sleep: Callable[[float], None] = time.sleep) -> None:
    # Full jitter: concurrent writers retrying in step would collide again.
    sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))
