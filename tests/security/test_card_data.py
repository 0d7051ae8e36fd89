"""Runs last: after every other suite has paid with real-looking card numbers and the fuzzers have sent what they
sent, no PAN-shaped, Luhn-valid number (tests/support.pans_in) may be found anywhere the system or the stack keeps
data: tables, objects, log groups, LocalStack's own log, workflow histories, queues, and the SES and SNS outboxes."""

from __future__ import annotations

import functools
import json
import re
import subprocess
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

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
    """(kind, where, text) for every place the stack keeps data. The places are read four at a time: the scan runs alone
    at the end of `make test`, and it reads every item, object, log event and workflow history the stack ever kept
    (hundreds of histories after a few runs), one request each, while the machine's second core would wait."""
    with ThreadPoolExecutor(4) as pool:
        for found in pool.map(lambda read: read(), readers(aws)):
            yield from found


def readers(aws):
    """For each place the stack keeps data, a function that reads it: [(kind, where, text)]."""
    dynamodb, s3, logs = aws.client("dynamodb"), aws.client("s3"), aws.client("logs")
    sfn, sqs = aws.client("stepfunctions"), aws.client("sqs")

    def table(name):
        return [("dynamodb", name, json.dumps(item)) for item in pages(dynamodb, "scan", "Items", TableName=name)]

    def stored_object(bucket, entry):
        if entry.get("StorageClass") in ("GLACIER", "DEEP_ARCHIVE"):  # the failure tests' archived files
            s3.restore_object(Bucket=bucket, Key=entry["Key"], RestoreRequest={"Days": 1})
        body = s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
        return [("s3", f"{bucket}/{entry['Key']}", body.decode("utf-8", "replace"))]

    def log_group(name):
        return [
            ("logs", name, event["message"]) for event in pages(logs, "filter_log_events", "events", logGroupName=name)
        ]

    def history(execution):
        events = list(pages(sfn, "get_execution_history", "events", executionArn=execution["executionArn"]))
        return [("sfn", execution["name"], json.dumps(events, default=str))]

    def queue(url):
        messages = list(receive_all(sqs, url, hide_seconds=30))
        show_again(sqs, url, messages)
        return [("sqs", url, message["Body"]) for message in messages]

    for name in pages(dynamodb, "list_tables", "TableNames"):
        yield functools.partial(table, name)
    for bucket in pages(s3, "list_buckets", "Buckets"):
        for entry in pages(s3, "list_objects_v2", "Contents", Bucket=bucket["Name"]):
            yield functools.partial(stored_object, bucket["Name"], entry)
    for group in pages(logs, "describe_log_groups", "logGroups"):
        yield functools.partial(log_group, group["logGroupName"])
    yield lambda: [("localstack log", str(STACK_STATE.parent), without_invoice_ids_of_lookups(localstack_log()))]
    for machine in pages(sfn, "list_state_machines", "stateMachines"):
        for execution in pages(sfn, "list_executions", "executions", stateMachineArn=machine["stateMachineArn"]):
            yield functools.partial(history, execution)
    for url in pages(sqs, "list_queues", "QueueUrls"):
        yield functools.partial(queue, url)
    yield lambda: [("ses", "outbox", requests.get(f"{ENDPOINT}/_aws/ses", timeout=30).text)]
    yield lambda: [("sns", "sms outbox", requests.get(f"{ENDPOINT}/_aws/sns/sms-messages", timeout=30).text)]


def test_no_card_number_is_kept_anywhere(aws, deployment):
    searched, leaks = Counter(), []
    for kind, where, text in everything_stored(aws):
        searched[kind] += 1
        leaks += [f"{kind}:{where}: {pan}" for pan in pans_in(text, context=40)]
    # The scan reached every kind of store, and each held what the suites left there.
    assert set(searched) >= {"dynamodb", "s3", "logs", "localstack log", "sfn", "ses", "sns"}, searched
    assert leaks == []
