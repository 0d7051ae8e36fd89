"""Helpers of the reliability suite: bounded concurrency, the stored payments of an invoice, execution lookups,
and fault injection through a function's configuration (always restored)."""

from __future__ import annotations

import concurrent.futures
import time
from typing import Callable, Iterable

from boto3.dynamodb.conditions import Attr

from tests.helpers.stack import wait_for


def run_concurrently(call: Callable, arguments: Iterable, clients: int, figures=None) -> list:
    """call(argument) for every argument from a pool of `clients` threads; the results in argument order."""
    arguments = list(arguments)
    if figures is not None:
        figures.clients(min(clients, len(arguments)))
    with concurrent.futures.ThreadPoolExecutor(max_workers=clients) as pool:
        return list(pool.map(call, arguments))


def payments_of_invoice(aws, deployment, invoice_id: int) -> list[dict]:
    """Every record in the Payments table for this invoice (a scan: the table is the ledger)."""
    table = aws.resource("dynamodb").Table(deployment["payments_table"])
    items, kwargs = [], {"FilterExpression": Attr("InvoiceID").eq(invoice_id), "ConsistentRead": True}
    while True:
        page = table.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def payment_record(aws, deployment, payment_id: str) -> dict | None:
    table = aws.resource("dynamodb").Table(deployment["payments_table"])
    return table.get_item(Key={"PaymentId": payment_id}, ConsistentRead=True).get("Item")


def balance_item(aws, deployment, invoice_id: int) -> dict | None:
    table = aws.resource("dynamodb").Table(deployment["balance_table"])
    return table.get_item(Key={"InvoiceID": invoice_id}, ConsistentRead=True).get("Item")


def executions_named(aws, deployment, name: str) -> list[dict]:
    """The executions of the payment state machine with this name (a payment's execution is named by its id)."""
    sfn = aws.client("stepfunctions")
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=deployment["state_machine_arn"])
    return [execution for page in pages for execution in page["executions"] if execution["name"] == name]


def finished_execution(aws, execution_arn: str, timeout: float = 60.0) -> dict:
    """describe_execution once the execution is no longer RUNNING."""
    sfn = aws.client("stepfunctions")

    def done():
        described = sfn.describe_execution(executionArn=execution_arn)
        return described if described["status"] != "RUNNING" else None

    return wait_for(done, timeout=timeout, interval=0.5)


def task_failures(aws, execution_arn: str) -> list[dict]:
    """The LambdaFunctionFailed / TaskFailed events of an execution (what the workflow's Retry and Catch saw)."""
    sfn = aws.client("stepfunctions")
    events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    failed = []
    for event in events:
        details = event.get("lambdaFunctionFailedEventDetails") or event.get("taskFailedEventDetails")
        if details:
            failed.append(details)
    return failed


def elapsed(started: float) -> float:
    return round(time.monotonic() - started, 1)
