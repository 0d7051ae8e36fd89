"""A bills file too big for one invocation completes through chunked continuation.

The chunk size is the function's INGEST_CHUNK_BYTES setting. The test runs a copy of the deployed ingest_bills (the
same zip, layer and runtime) with a 4 KB chunk size, so that a small file needs many chunks, exactly as a
multi-gigabyte file would with the default. A copy rather than reconfiguring the deployed function: on a fresh
LocalStack 4.14 an S3 event sent after UpdateFunctionConfiguration was dropped (seen twice in CI, not on AWS).
"""

from __future__ import annotations

import json

import pytest

from tests.support import REPO, unique_invoice_id, wait_for

CHUNK_BYTES = 4096
ROWS = 1500  # about 45 KB: a dozen chunks


@pytest.fixture
def small_chunks(aws, deployment):
    """The name of a copy of ingest_bills with a 4 KB chunk size (deleted after)."""
    client = aws.client("lambda")
    deployed = client.get_function_configuration(FunctionName=deployment["function_names"]["ingest_bills"])
    name = f"{deployed['FunctionName']}-fanout-{unique_invoice_id()}"
    client.create_function(
        FunctionName=name,
        Runtime=deployed["Runtime"],
        Role=deployed["Role"],
        Handler=deployed["Handler"],
        Code={"ZipFile": (REPO / "build" / "functions" / "ingest_bills.zip").read_bytes()},
        Layers=[layer["Arn"] for layer in deployed.get("Layers", [])],
        Timeout=deployed["Timeout"],
        Environment={"Variables": {**deployed["Environment"]["Variables"], "INGEST_CHUNK_BYTES": str(CHUNK_BYTES)}},
    )
    client.get_waiter("function_active_v2").wait(FunctionName=name)
    yield name
    client.delete_function(FunctionName=name)


@pytest.fixture
def untriggered_bucket(aws):
    """A bucket no product trigger watches, so only the copy ingests what the test puts there."""
    s3, name = aws.client("s3"), f"fanout-{unique_invoice_id()}"
    s3.create_bucket(Bucket=name)
    yield name
    for entry in s3.list_objects_v2(Bucket=name).get("Contents", []):
        s3.delete_object(Bucket=name, Key=entry["Key"])
    s3.delete_bucket(Bucket=name)


def test_a_file_larger_than_a_chunk_is_loaded_completely(aws, deployment, small_chunks, untriggered_bucket):
    first = unique_invoice_id()
    rows = [f"{first + n},Customer {n},{n}.{n % 100:02d},0" for n in range(ROWS)]
    rows.insert(700, "not-a-number,Broken Row,1.00,0")  # one bad row in a middle chunk (file line 702)
    key = f"bills-due/fanout-{first}.csv"
    text = "InvoiceID,CustomerName,Balance,IsProcessed\n" + "\n".join(rows) + "\n"
    s3, bucket = aws.client("s3"), untriggered_bucket
    etag = s3.put_object(Bucket=bucket, Key=key, Body=text.encode())["ETag"].strip('"')
    event = {"Records": [{"s3": {"bucket": {"name": bucket}, "object": {"key": key, "eTag": etag}}}]}
    aws.client("lambda").invoke(FunctionName=small_chunks, InvocationType="Event", Payload=json.dumps(event).encode())

    def report():
        try:
            return s3.get_object(Bucket=bucket, Key=key + ".rejected.jsonl")["Body"].read()
        except s3.exceptions.NoSuchKey:
            return None

    rejected = [json.loads(line) for line in wait_for(report, timeout=120).decode().splitlines()]
    assert [entry["line"] for entry in rejected] == [702]

    table = aws.resource("dynamodb").Table(deployment["balance_table"])
    stored = 0
    for start in range(0, ROWS, 100):
        keys = [{"InvoiceID": first + n} for n in range(start, min(start + 100, ROWS))]
        response = aws.resource("dynamodb").batch_get_item(
            RequestItems={table.name: {"Keys": keys, "ConsistentRead": True}}
        )
        stored += len(response["Responses"][table.name])
    assert stored == ROWS

    # The part reports of the chunks were joined into the report and removed.
    leftovers = s3.list_objects_v2(Bucket=bucket, Prefix=key + ".rejected.jsonl.part")
    assert leftovers.get("KeyCount", 0) == 0
    chunks = chunk_log_lines(aws, small_chunks, key)
    assert len(chunks) >= len(text) // CHUNK_BYTES


def chunk_log_lines(aws, function_name: str, key: str) -> list[str]:
    """The `ingest_chunk` log lines the function wrote for this file: one per chunk."""
    logs = aws.client("logs")
    pages = logs.get_paginator("filter_log_events").paginate(logGroupName=f"/aws/lambda/{function_name}")
    return [
        event["message"]
        for page in pages
        for event in page["events"]
        if "ingest_chunk" in event["message"] and key in event["message"]
    ]
