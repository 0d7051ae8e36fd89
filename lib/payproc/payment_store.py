"""The Payments table: the accepted payment (once per PaymentId) and its execution, then, as the workflow's functions
write them, the commit (with the invoice's balance, in one transaction), each alert's result, a decline or a
failure."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Mapping

from botocore.exceptions import ClientError

from payproc import aws, bill_store
from payproc.money import format_money
from payproc.payments import State, all_alerts_sent, now_iso
from payproc.telemetry import PAYMENTS_FAILED, PAYMENTS_SUCCEEDED, count


class PaymentRejected(Exception):
    """The invoice can no longer take this payment (paid, balance changed, or the payment is not accepted)."""


class TransientError(Exception):
    """A temporary AWS error; the workflow retries the step with backoff."""


def read_payment(payments_table: str, payment_id: str) -> dict[str, Any] | None:
    """The payment's record as stored now (strongly consistent), or None."""
    key = {"PaymentId": payment_id}
    return aws.dynamodb().get_item(TableName=payments_table, Key=key, ConsistentRead=True).get("Item")


def insert_payment(payments_table: str, item: Mapping[str, Any]) -> bool:
    """Store an accepted payment unless its PaymentId is stored already (then False: a request with its key won)."""
    try:
        condition = "attribute_not_exists(PaymentId)"
        aws.dynamodb().put_item(TableName=payments_table, Item=dict(item), ConditionExpression=condition)
    except ClientError as error:
        if aws.error_code(error) != aws.CONDITION_FAILED:
            raise
        return False
    return True


def record_execution(payments_table: str, payment_id: str, execution_arn: str) -> None:
    """Note the payment's workflow execution and when it started; the first one noted stays."""
    aws.dynamodb().update_item(
        TableName=payments_table,
        Key={"PaymentId": payment_id},
        UpdateExpression=(
            "SET ExecutionArn = if_not_exists(ExecutionArn, :arn), StartedAt = if_not_exists(StartedAt, :now)"
        ),
        ExpressionAttributeValues={":arn": execution_arn, ":now": now_iso()},
    )


def commit_payment(
    balance_table: str,
    payments_table: str,
    payment_id: str,
    invoice_id: int,
    amount: Decimal,
    execution_arn: str | None,
    charge_reference: str,
) -> str:
    """Pay the invoice and mark the payment paid in one transaction, with the processor's charge reference; return
    the status. Safe to repeat.

    Raises PaymentRejected when the invoice is paid or its balance is not the amount, TransientError to be retried.
    Counts PaymentsSucceeded when this call's transaction commits (a repeat finding the payment paid counts nothing).
    """
    paid_at = now_iso()
    client = aws.dynamodb()
    try:
        client.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": balance_table,
                        "Key": {"InvoiceID": invoice_id},
                        "UpdateExpression": "SET Balance = :zero, IsProcessed = :one, LastPaymentId = :payment",
                        "ConditionExpression": "IsProcessed = :zero AND Balance = :amount",
                        "ExpressionAttributeValues": {":zero": 0, ":one": 1, ":amount": amount, ":payment": payment_id},
                    }
                },
                {
                    "Update": {
                        "TableName": payments_table,
                        "Key": {"PaymentId": payment_id},
                        "UpdateExpression": (
                            "SET #status = :paid, PaidAt = :now, ExecutionArn = :execution, ChargeReference = :charge"
                        ),
                        "ConditionExpression": "#status = :accepted",
                        "ExpressionAttributeNames": {"#status": "Status"},
                        "ExpressionAttributeValues": {
                            ":paid": State.PAID,
                            ":accepted": State.ACCEPTED,
                            ":now": paid_at,
                            ":execution": execution_arn or "unknown",
                            ":charge": charge_reference,
                        },
                    }
                },
            ]
        )
        count(PAYMENTS_SUCCEEDED)
        return State.PAID
    except ClientError as error:
        if aws.is_transient(error):
            raise TransientError(",".join(sorted(aws.cancellation_reasons(error))) or aws.error_code(error)) from None
        if aws.error_code(error) != aws.CANCELLED:
            raise
    settled = settled_status(balance_table, payments_table, payment_id, invoice_id, amount)
    if settled is None:  # every condition holds again: a concurrent change cancelled the transaction
        raise TransientError("the transaction was cancelled by a concurrent change")
    return settled


def settled_status(
    balance_table: str, payments_table: str, payment_id: str, invoice_id: int, amount: Decimal
) -> str | None:
    """The status of a payment already paid; None while the invoice can take it; raise PaymentRejected when it
    cannot (paid by another payment, another balance due, gone) or the payment is no longer accepted."""
    # A retry of a step that already committed finds its own payment paid: that is success, not a rejection.
    status = (read_payment(payments_table, payment_id) or {}).get("Status")
    if status in (State.PAID, State.NOTIFIED):
        return str(status)
    if status != State.ACCEPTED:
        raise PaymentRejected(f"payment {payment_id} is {status or 'unknown'}, not accepted")
    invoice = bill_store.read_invoice(balance_table, invoice_id)
    if invoice is None:
        raise PaymentRejected(f"invoice {invoice_id} no longer exists")
    if int(invoice["IsProcessed"]) == 1:
        raise PaymentRejected(f"invoice {invoice_id} is already paid")
    if Decimal(invoice["Balance"]) != amount:
        raise PaymentRejected(
            f"invoice {invoice_id} balance is {format_money(Decimal(invoice['Balance']))}, "
            f"not the {format_money(amount)} of this payment"
        )
    return None


def record_payment_failure(payments_table: str, payment_id: str, reason: str) -> bool:
    """Mark a payment that was never committed as failed with the reason (counted as PaymentsFailed); False if it
    is no longer accepted (committed after all, e.g. a timeout after the write: a paid payment is never marked
    failed)."""
    return _end_unpaid(payments_table, payment_id, State.FAILED, {"Reason": reason}) is not None


def record_payment_decline(payments_table: str, payment_id: str, code: str, message: str) -> dict[str, Any] | None:
    """Mark a payment the processor declined as declined, with its code and the customer's message (counted as
    PaymentsFailed); the record as it now is, or None if it is no longer accepted."""
    return _end_unpaid(payments_table, payment_id, State.DECLINED, {"DeclineCode": code, "Reason": message})


def _end_unpaid(payments_table: str, payment_id: str, status: State, values: Mapping[str, str]) -> dict | None:
    # Set the status and these attributes only while the payment is still accepted; the record as it now is, or None.
    fields = {"Status": status, **values}
    try:
        item = aws.dynamodb().update_item(
            TableName=payments_table,
            Key={"PaymentId": payment_id},
            UpdateExpression="SET FailedAt = :now, " + ", ".join(f"#{name} = :{name}" for name in fields),
            ConditionExpression="#Status = :accepted",
            ExpressionAttributeNames={f"#{name}": name for name in fields},
            ExpressionAttributeValues={
                ":now": now_iso(),
                ":accepted": State.ACCEPTED,
                **{f":{name}": value for name, value in fields.items()},
            },
            ReturnValues="ALL_NEW",
        )["Attributes"]
    except ClientError as error:
        if aws.error_code(error) != aws.CONDITION_FAILED:
            raise
        return None
    count(PAYMENTS_FAILED)  # a payment that never committed
    return item


def record_alert_sent(payments_table: str, payment_id: str, channel: str) -> str:
    """Mark one alert sent; the payment becomes notified once every chosen alert is sent. Returns the status."""
    client = aws.dynamodb()
    item = client.update_item(
        TableName=payments_table,
        Key={"PaymentId": payment_id},
        UpdateExpression="SET Notifications.#channel = :sent",
        ExpressionAttributeNames={"#channel": channel},
        ExpressionAttributeValues={":sent": State.SENT},
        ReturnValues="ALL_NEW",
    )["Attributes"]
    # Parallel alerts each set their own flag atomically; whichever lands second sees both sent.
    if item.get("Status") != State.PAID or not all_alerts_sent(item.get("Notifications") or {}):
        return str(item.get("Status"))
    try:
        client.update_item(
            TableName=payments_table,
            Key={"PaymentId": payment_id},
            UpdateExpression="SET #status = :notified, NotifiedAt = :now",
            ConditionExpression="#status = :paid",
            ExpressionAttributeNames={"#status": "Status"},
            ExpressionAttributeValues={":notified": State.NOTIFIED, ":paid": State.PAID, ":now": now_iso()},
        )
    except ClientError as error:
        if aws.error_code(error) != aws.CONDITION_FAILED:
            raise
    return State.NOTIFIED


def record_alert_failure(payments_table: str, payment_id: str, channel: str, reason: str) -> None:
    """Record a failed alert; the payment keeps its status (a failed alert never undoes a payment)."""
    aws.dynamodb().update_item(
        TableName=payments_table,
        Key={"PaymentId": payment_id},
        UpdateExpression="SET Notifications.#channel = :failed, NotificationErrors.#channel = :reason",
        ExpressionAttributeNames={"#channel": channel},
        ExpressionAttributeValues={":failed": State.FAILED, ":reason": reason},
    )


def alert_already_sent(payments_table: str, payment_id: str, channel: str) -> bool:
    """Whether this alert was already sent (a retried step must not send it twice)."""
    item = read_payment(payments_table, payment_id) or {}
    return (item.get("Notifications") or {}).get(channel) == State.SENT
