"""Runs last: after every other suite has paid with real-looking card numbers and the fuzzers have sent what they
sent, no PAN-shaped, Luhn-valid number (tests/support.pans_in) may be found anywhere the system or the stack keeps
data: tables, objects, log groups, LocalStack's own log, workflow histories, queues, and the SES and SNS outboxes."""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter

import requests

from ops.failures import receive_all, show_again
from tests.helpers.stack import ENDPOINT, REPO, pans_in

STACK_STATE = REPO / ".stack" / "stack.json"


# GET /paymentbalance/<InvoiceID>: the id is in the URL by the API's (the original tutorial's) design, and LocalStack
# logs every request line. The fuzzing sends ids of up to 16 random digits, some of which pass the Luhn check with a
# card brand's prefix; they are ids a client chose, not card numbers the system kept. Anything else in the line is
# still scanned.
INVOICE_LOOKUP_PATH = re.compile(r"(/paymentbalance/)[0-9]+(?= =>)")


def without_invoice_ids_of_lookups(log: str) -> str:
    return INVOICE_LOOKUP_PATH.sub(r"\1<InvoiceID>", log)


def localstack_log() -> str:
    """LocalStack's own log: the embedded stack's file, or the container's output."""
    mode = json.loads(STACK_STATE.read_text())["mode"]  # no state file: not our stack, so we cannot read its log
    if mode == "embedded":
        return (REPO / ".stack" / "localstack.log").read_text(errors="replace")
    return subprocess.run(
        ["docker", "compose", "-f", str(REPO / "docker-compose.yml"), "logs", "--no-color"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    ).stdout


def pages(client, operation: str, key: str, **kwargs):
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])


def everything_stored(aws):
    """(kind, where, text) for every place the stack keeps data."""
    dynamodb = aws.client("dynamodb")
    for table in pages(dynamodb, "list_tables", "TableNames"):
        for item in pages(dynamodb, "scan", "Items", TableName=table):
            yield "dynamodb", table, json.dumps(item)
    s3 = aws.client("s3")
    for bucket in pages(s3, "list_buckets", "Buckets"):
        for entry in pages(s3, "list_objects_v2", "Contents", Bucket=bucket["Name"]):
            if entry.get("StorageClass") in ("GLACIER", "DEEP_ARCHIVE"):  # the failure tests' archived files
                s3.restore_object(Bucket=bucket["Name"], Key=entry["Key"], RestoreRequest={"Days": 1})
            body = s3.get_object(Bucket=bucket["Name"], Key=entry["Key"])["Body"].read()
            yield "s3", f"{bucket['Name']}/{entry['Key']}", body.decode("utf-8", "replace")
    logs = aws.client("logs")
    for group in pages(logs, "describe_log_groups", "logGroups"):
        for event in pages(logs, "filter_log_events", "events", logGroupName=group["logGroupName"]):
            yield "logs", group["logGroupName"], event["message"]
    yield "localstack log", str(STACK_STATE.parent), without_invoice_ids_of_lookups(localstack_log())
    sfn = aws.client("stepfunctions")
    for machine in pages(sfn, "list_state_machines", "stateMachines"):
        for execution in pages(sfn, "list_executions", "executions", stateMachineArn=machine["stateMachineArn"]):
            events = list(pages(sfn, "get_execution_history", "events", executionArn=execution["executionArn"]))
            yield "sfn", execution["name"], json.dumps(events, default=str)
    sqs = aws.client("sqs")
    for url in pages(sqs, "list_queues", "QueueUrls"):
        messages = list(receive_all(sqs, url, hide_seconds=30))
        show_again(sqs, url, messages)
        yield from (("sqs", url, message["Body"]) for message in messages)
    yield "ses", "outbox", requests.get(f"{ENDPOINT}/_aws/ses", timeout=30).text
    yield "sns", "sms outbox", requests.get(f"{ENDPOINT}/_aws/sns/sms-messages", timeout=30).text


def test_no_card_number_is_kept_anywhere(aws, deployment):
    searched, leaks = Counter(), []
    for kind, where, text in everything_stored(aws):
        searched[kind] += 1
        leaks += [f"{kind}:{where}: {pan}" for pan in pans_in(text, context=40)]
    # The scan reached every kind of store, and each held what the suites left there.
    assert set(searched) >= {"dynamodb", "s3", "logs", "localstack log", "sfn", "ses", "sns"}, searched
    assert leaks == []
