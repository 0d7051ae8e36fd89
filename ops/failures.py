"""Uploads that failed every attempt: list them, and replay them once the cause is fixed.

    python -m ops.failures list [--json] [--queue-url URL]
    python -m ops.failures redrive [--queue-url URL]

An S3 upload reaches ingest_bills or salary_files as an asynchronous event. When an event has failed every attempt
(terraform/main.tf: local.async_failure), Lambda sends a failure record to the ingest failures queue: the event as
it was (bucket, key, ETag, version; or a chunk continuation), the function, the condition and the error.

`list` shows each record and leaves it in the queue. `redrive` invokes the function again with the recorded event,
synchronously, and deletes the record when the invocation succeeds; a record that fails again stays for the next
try. Ingestion is idempotent, so replaying a record twice changes nothing the first replay wrote.

The queue URL comes from --queue-url, else from the local deployment's build/outputs.json. Credentials and the
endpoint are boto3's usual ones (the Makefile points AWS_ENDPOINT_URL at the local stack).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from typing import Any, Iterator

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from ops import outputs

OUTPUTS = outputs.LOCAL
# A redrive waits for the function itself: the longest function timeout (300 s) and a margin.
INVOKE_CONFIG = Config(read_timeout=330, retries={"total_max_attempts": 1})
REDRIVE_HIDE_S = 900  # a record being replayed stays invisible to a second redrive running meanwhile
LIST_HIDE_S = 30  # while listing, so a record is seen once; made visible again when the listing ends


@dataclass(frozen=True)
class Failure:
    """What an operator acts on, read from one failure record."""

    function: str
    condition: str
    attempts: int
    when: str
    objects: list[str]  # "bucket/key (etag …, version …, from byte …)" for each file the event names
    error: str
    payload: dict[str, Any]
    function_arn: str


def describe(record: dict[str, Any]) -> Failure:
    """A Lambda on-failure destination record as a Failure."""
    context = record.get("requestContext", {})
    function_arn = context.get("functionArn", "")
    response = record.get("responsePayload") or {}
    error = (
        f"{response.get('errorType', 'Error')}: {response.get('errorMessage', '')}"
        if response
        else context.get("condition", "no response")
    )
    payload = record.get("requestPayload") or {}
    return Failure(
        function=function_arn.split(":function:")[-1].split(":")[0],
        condition=context.get("condition", "?"),
        attempts=int(context.get("approximateInvokeCount", 0)),
        when=record.get("timestamp", "?"),
        objects=list(objects_named(payload)),
        error=error,
        payload=payload,
        function_arn=function_arn,
    )


def objects_named(payload: dict[str, Any]) -> Iterator[str]:
    """The files an event names: an S3 notification's records, or an ingestion chunk's continuation."""
    if "continuation" in payload:
        job = payload["continuation"]
        yield (
            f"{job.get('bucket')}/{job.get('key')} (etag {job.get('etag')}, version {job.get('version_id')}, "
            f"from byte {job.get('offset', 0)})"
        )
    for item in payload.get("Records", []):
        s3 = item.get("s3", {})
        obj = s3.get("object", {})
        yield (
            f"{s3.get('bucket', {}).get('name')}/{obj.get('key')} "
            f"(etag {obj.get('eTag')}, version {obj.get('versionId')})"
        )


def queue_url(given: str | None) -> str:
    if given:
        return given
    try:
        return outputs.load(OUTPUTS)["ingest_failures_queue_url"]
    except (OSError, ValueError, KeyError):
        sys.exit(
            f"no --queue-url and no ingest_failures_queue_url in {OUTPUTS}: deploy first (make deploy), "
            "or pass the queue URL of your AWS deployment (terraform output ingest_failures_queue_url)"
        )


def receive_all(sqs: Any, url: str, hide_seconds: int) -> Iterator[dict[str, Any]]:
    """Every message in the queue, each once, hidden from other readers for hide_seconds after it is received."""
    seen: set[str] = set()
    while True:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=hide_seconds
        ).get("Messages", [])
        fresh = [message for message in messages if message["MessageId"] not in seen]
        if not fresh:
            return
        for message in fresh:
            seen.add(message["MessageId"])
            yield message


def show_again(sqs: Any, url: str, messages: list[dict[str, Any]]) -> None:
    """Make messages visible at once (they stay in the queue for the next list or redrive)."""
    for message in messages:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)


def print_failure(failure: Failure, prefix: str = "") -> None:
    print(f"{prefix}{failure.when}  {failure.function}  {failure.condition} after {failure.attempts} attempt(s)")
    for name in failure.objects:
        print(f"    file:  {name}")
    print(f"    error: {failure.error[:300]}")


def list_failures(sqs: Any, url: str, as_json: bool) -> int:
    messages = list(receive_all(sqs, url, LIST_HIDE_S))
    try:
        records = [json.loads(message["Body"]) for message in messages]
        if as_json:
            print(json.dumps(records, indent=2))
        else:
            for record in records:
                print_failure(describe(record))
            print(f"{len(records)} failed event(s) in {url}")
    finally:
        show_again(sqs, url, messages)
    return 0


def replay(lambda_client: Any, failure: Failure) -> str | None:
    """Invoke the recorded function with the recorded event and wait for it; the error, or None if it succeeded."""
    try:
        response = lambda_client.invoke(
            FunctionName=failure.function_arn,
            InvocationType="RequestResponse",
            Payload=json.dumps(failure.payload).encode(),
        )
    except ClientError as error:  # e.g. the function was renamed or removed since
        return f"{error.response['Error']['Code']}: {error.response['Error'].get('Message', '')}"
    if not response.get("FunctionError"):
        return None
    result = json.loads(response["Payload"].read() or b"null") or {}
    return f"{result.get('errorType', response['FunctionError'])}: {result.get('errorMessage', '')}"


def redrive(sqs: Any, lambda_client: Any, url: str) -> int:
    """Replay each record; delete it when its function now succeeds. Exit 1 if any still fails."""
    replayed, still_failing = 0, []
    try:
        for message in receive_all(sqs, url, REDRIVE_HIDE_S):
            failure = describe(json.loads(message["Body"]))
            error = replay(lambda_client, failure)
            if error:
                still_failing.append(message)
                print_failure(failure, prefix="still failing: ")
                print(f"    now:   {error[:300]}")
                continue
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            replayed += 1
            print(f"redriven: {failure.function}  {', '.join(failure.objects)}", flush=True)
    finally:
        show_again(sqs, url, still_failing)
    print(f"{replayed} redriven, {len(still_failing)} still failing (left in the queue)")
    return 1 if still_failing else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.failures", description=__doc__.strip().splitlines()[0])
    parser.add_argument("command", choices=["list", "redrive"])
    parser.add_argument("--queue-url", help="default: ingest_failures_queue_url of build/outputs.json")
    parser.add_argument("--json", action="store_true", help="list: the records as they are")
    args = parser.parse_args(argv)
    url = queue_url(args.queue_url)
    sqs = boto3.client("sqs")
    if args.command == "list":
        return list_failures(sqs, url, args.json)
    return redrive(sqs, boto3.client("lambda", config=INVOKE_CONFIG), url)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
