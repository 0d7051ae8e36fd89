"""One payment's or one uploaded file's story, in order, each step with its time.

    python -m ops.trace --payment ID [--since 1d] [--outputs FILE]
    python -m ops.trace --key KEY [--bucket NAME] [--since 1d] [--outputs FILE]

A payment: every function's log lines that carry its PaymentId (start_payment's request first, then the workflow's
functions) and each state of its Step Functions execution (named after the PaymentId), in time order; then its
Payments record as it is now (status and times) and the alerts it says were sent, checked against LocalStack's SES
and SNS outboxes when the endpoint is a LocalStack (AWS has no outbox to read).

A file: its upload (the object's time), the lines of ingest_bills or salary_files that carry its bucket and key
(each chunk, the summary) and any record of it on the ingest failures queue (ops/failures.py), in time order; then
the rejected-rows report next to it, if any, and its first rows. S3 stamps objects to the second, so the upload is
shown at the start of its second (still before what it caused).

Logs are read from a minute before the payment was created or the file was last uploaded (--since to read from
elsewhere). Names come from the deployment's outputs (ops/outputs.py); credentials and the endpoint are boto3's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import urllib.error
import urllib.request
from typing import Any, Iterable

import boto3
from botocore.exceptions import ClientError

from ops import failures
from ops.logs import (
    CAUSE_CHARS,
    Line,
    as_json,
    error_text,
    events,
    line_of,
    log_groups,
    parse_since,
    parse_time,
    render,
    stamp,
)
from ops.outputs import read_outputs

BEFORE = dt.timedelta(minutes=1)  # logs are read from this long before the payment or upload (clock skew, rounding)
DEFAULT_SINCE = "1d"  # when there is no payment record or object to start from
REPORT_ROWS_SHOWN = 5
FILE_FUNCTIONS = ("ingest_bills", "salary_files")


def in_time_order(lines: Iterable[Line]) -> list[Line]:
    """Oldest first by each step's own time; steps of the same time stay in the order given (S3 and the Payments
    record stamp to the second)."""
    return sorted(lines, key=lambda line: line.time)


# --- a payment -----------------------------------------------------------------------------------------------------


def history_text(event: dict[str, Any]) -> str | None:
    """What a story shows of an execution history event: each state entered, every failure and timeout, and the
    execution's start and end; None for the rest (scheduled, started, succeeded tasks). Never its input or output:
    they hold the payer's contact details."""
    kind = event["type"]
    details = next((value for key, value in event.items() if key.endswith("EventDetails")), {})
    if kind.endswith("StateEntered"):
        return f"{details.get('name')} ({kind[: -len('StateEntered')]})"
    if kind.startswith("Execution") or kind.endswith(("Failed", "TimedOut", "Aborted")):
        return f"{kind} {error_text(details)}".rstrip()
    return None


def execution_lines(sfn: Any, execution_arn: str) -> list[Line]:
    """The story's steps from the execution's history; none when there is no such execution."""
    try:
        history = [
            event
            for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
            for event in page["events"]
        ]
    except sfn.exceptions.ExecutionDoesNotExist:
        return []
    return [
        Line(event["timestamp"].astimezone(dt.timezone.utc), "workflow", text)
        for event in history
        if (text := history_text(event))
    ]


def lines_with(logs: Any, groups: dict[str, str], start: dt.datetime, phrase: str, keys: dict[str, str]) -> list[Line]:
    """The log lines of these groups from start whose JSON has all these keys with these values."""
    return [
        line_of(source, event)
        for source, group in groups.items()
        for event in events(logs, group, start, phrase=phrase)
        if (record := as_json(event["message"])) and all(record.get(k) == v for k, v in keys.items())
    ]


def record_text(item: dict[str, Any]) -> str:
    """The Payments record as it is now: its status and the time of each step it reached."""
    times = [
        f"{name} {item[key]}"
        for name, key in (
            ("created", "CreatedAt"),
            ("paid", "PaidAt"),
            ("notified", "NotifiedAt"),
            ("failed", "FailedAt"),
        )
        if item.get(key)
    ]
    reason = f" ({item['Reason']})" if item.get("Reason") else ""
    return f"status {item['Status']}{reason}; " + ", ".join(times)


def alerts_text(item: dict[str, Any], outbox: dict[str, list[str]]) -> str:
    """Each chosen alert's state on the record (and its error), with what the outbox holds of it when read."""
    notes = []
    for channel, state in sorted((item.get("Notifications") or {}).items()):
        note = f"{channel} {state}"
        if (item.get("NotificationErrors") or {}).get(channel):
            note += f" ({item['NotificationErrors'][channel]})"
        if channel in outbox:
            note += f" [outbox: {'; '.join(outbox[channel]) or 'nothing'}]"
        notes.append(note)
    return "; ".join(notes) or "none chosen"


def local_json(path: str) -> Any | None:
    """A LocalStack internal endpoint's JSON; None when the endpoint is not a LocalStack (AWS: no such thing)."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        return None
    try:
        with urllib.request.urlopen(f"{endpoint.rstrip('/')}{path}", timeout=5) as response:
            return json.load(response)
    except (OSError, urllib.error.URLError, ValueError):
        return None


def local_outbox(payment_id: str) -> dict[str, list[str]]:
    """The emails and texts LocalStack kept that name this payment (every alert's text holds its id), by channel;
    empty when the endpoint is not a LocalStack."""
    outbox: dict[str, list[str]] = {}
    emails = local_json("/_aws/ses")
    if emails is not None:
        outbox["email"] = [
            f"to {', '.join(m.get('Destination', {}).get('ToAddresses', []))} at {m.get('Timestamp')}"
            for m in emails.get("messages", [])
            if payment_id in json.dumps(m.get("Body"))
        ]
    texts = local_json("/_aws/sns/sms-messages")
    if texts is not None:
        outbox["text"] = [
            f"to {phone}"
            for phone, messages in texts.get("sms_messages", {}).items()
            for m in messages
            if payment_id in str(m.get("Message"))
        ]
    return outbox


def payment_story(
    clients: dict[str, Any], outputs: dict[str, Any], payment_id: str, since: dt.datetime | None
) -> tuple[list[str], list[Line], list[str]]:
    """(heading, the steps in time order, the closing lines) of a payment."""
    item = (
        clients["dynamodb"]
        .Table(outputs["payments_table"])
        .get_item(Key={"PaymentId": payment_id}, ConsistentRead=True)
        .get("Item")
    )
    start = since or (
        parse_time(item["CreatedAt"]) - BEFORE if item else parse_since(DEFAULT_SINCE, dt.datetime.now(dt.timezone.utc))
    )
    execution_arn = (item or {}).get("ExecutionArn") or (
        f"{outputs['state_machine_arn'].replace(':stateMachine:', ':execution:')}:{payment_id}"
    )
    functions = {short: group for short, group in log_groups(outputs).items() if short in outputs["function_names"]}
    steps = lines_with(clients["logs"], functions, start, payment_id, {"PaymentId": payment_id})
    steps += execution_lines(clients["stepfunctions"], execution_arn)
    if not item:
        return [f"payment {payment_id}: no record in {outputs['payments_table']}"], in_time_order(steps), []
    heading = (
        f"payment {payment_id}: invoice {item['InvoiceID']}, {item['Amount']:.2f}, {item['CardBrand']} ending "
        f"{item['CardLast4']}, alerts {item['Choices']}"
    )
    closing = [f"record  {record_text(item)}", f"alerts  {alerts_text(item, local_outbox(payment_id))}"]
    return [heading], in_time_order(steps), closing


# --- a file --------------------------------------------------------------------------------------------------------


def head(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        return s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound", "403"):
            return None
        raise


def report_rows(s3: Any, bucket: str, key: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """The rejected-rows report next to a file, (its head, its rows); None when there is none."""
    report = f"{key}.rejected.jsonl"
    found = head(s3, bucket, report)
    if not found:
        return None
    text = s3.get_object(Bucket=bucket, Key=report)["Body"].read().decode()
    return found, [json.loads(line) for line in text.splitlines() if line.strip()]


def failure_lines(sqs: Any, queue_url: str, objects: Iterable[str]) -> list[Line]:
    """The ingest failures queue's records of these bucket/key names, read as `make failures` reads them."""
    prefixes = tuple(f"{name} " for name in objects)
    messages = list(failures.receive_all(sqs, queue_url, failures.LIST_HIDE_S))
    try:
        records = [failures.describe(json.loads(message["Body"])) for message in messages]
    finally:
        failures.show_again(sqs, queue_url, messages)
    return [
        Line(
            parse_time(record.when),
            "failures",
            f"{record.condition} after {record.attempts} attempt(s) of {record.function}: {record.error[:CAUSE_CHARS]}",
        )
        for record in records
        if any(name.startswith(prefixes) for name in record.objects)
    ]


def file_story(
    clients: dict[str, Any], outputs: dict[str, Any], key: str, bucket: str | None, since: dt.datetime | None
) -> tuple[list[str], list[Line], list[str]]:
    """(heading, the steps in time order, the closing lines) of an uploaded file, looked for in the given bucket or
    in both data buckets."""
    s3 = clients["s3"]
    buckets = [bucket] if bucket else [outputs["bills_bucket"], outputs["salary_bucket"]]
    heading, steps, closing = [], [], []
    uploads = {name: found for name in buckets if (found := head(s3, name, key))}
    for name, found in uploads.items():
        etag = found["ETag"].strip('"')
        heading.append(f"file s3://{name}/{key}: {found['ContentLength']} bytes, ETag {etag}")
        steps.append(Line(found["LastModified"].astimezone(dt.timezone.utc), "s3", "uploaded"))
    if not uploads:
        heading.append(f"file {key}: no such object in {', '.join(buckets)} now")
    last_upload = max((found["LastModified"] for found in uploads.values()), default=None)
    start = since or (
        last_upload - BEFORE if last_upload else parse_since(DEFAULT_SINCE, dt.datetime.now(dt.timezone.utc))
    )
    functions = {short: group for short, group in log_groups(outputs).items() if short in FILE_FUNCTIONS}
    for name in buckets:
        steps += lines_with(clients["logs"], functions, start, key, {"bucket": name, "key": key})
        report = report_rows(s3, name, key)
        if report:
            found, rows = report
            closing.append(
                f"report  s3://{name}/{key}.rejected.jsonl, written {stamp(found['LastModified'])}: "
                f"{len(rows)} rejected row(s)"
            )
            closing += [f"  line {row.get('line')}: {row.get('reason')}" for row in rows[:REPORT_ROWS_SHOWN]]
            if len(rows) > REPORT_ROWS_SHOWN:
                closing.append(f"  ... {len(rows) - REPORT_ROWS_SHOWN} more")
    steps += failure_lines(clients["sqs"], outputs["ingest_failures_queue_url"], (f"{name}/{key}" for name in buckets))
    return heading, in_time_order(steps), closing


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.trace", description=__doc__.strip().splitlines()[0])
    subject = parser.add_mutually_exclusive_group(required=True)
    subject.add_argument("--payment", metavar="ID", help="a PaymentId (the API's 202 answer names it)")
    subject.add_argument("--key", help="an uploaded file's key (bills-due/x.csv)")
    parser.add_argument("--bucket", help="--key: the bucket (default: whichever data bucket has it)")
    parser.add_argument(
        "--since",
        help="read logs from then: 30s, 10m, 2h, 1d or an ISO 8601 time (default: a "
        "minute before the payment was created or the file uploaded, else 1d)",
    )
    parser.add_argument(
        "--outputs",
        help="the deployment's Terraform outputs (default build/outputs.json; - reads "
        "`terraform output -json` from standard input)",
    )
    args = parser.parse_args(argv)
    since = parse_since(args.since, dt.datetime.now(dt.timezone.utc)) if args.since else None
    outputs = read_outputs(args.outputs)
    clients = {
        "dynamodb": boto3.resource("dynamodb"),
        **{name: boto3.client(name) for name in ("logs", "stepfunctions", "s3", "sqs")},
    }
    if args.payment:
        heading, steps, closing = payment_story(clients, outputs, args.payment, since)
    else:
        heading, steps, closing = file_story(clients, outputs, args.key, args.bucket, since)
    width = max((len(step.source) for step in steps), default=0)
    print("\n".join(heading))
    for step in steps:
        print(render(step, width))
    print("\n".join(closing))
    if not steps:
        print(
            "nothing found in the logs, the execution history or the failure queue (--since to look further back)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
