"""A bills file too big for one invocation completes through chunked continuation, on the deployed function.

The chunk size is the function's INGEST_CHUNK_BYTES setting; the test lowers it for its own run (and restores it)
so that a small file needs many chunks, exactly as a multi-gigabyte file would with the default.
"""

from __future__ import annotations

import json

import pytest

from tests.support import function_environment, unique_invoice_id, wait_for

CHUNK_BYTES = 4096
ROWS = 1500  # about 45 KB: a dozen chunks


@pytest.fixture
def small_chunks(aws, deployment):
    name = deployment["function_names"]["ingest_bills"]
    # {"Records": []} is an S3 event with no file: the function answers it and writes nothing.
    with function_environment(aws, name, probe_event={"Records": []}, INGEST_CHUNK_BYTES=str(CHUNK_BYTES)):
        yield name


def test_a_file_larger_than_a_chunk_is_loaded_completely(aws, deployment, small_chunks):
    first = unique_invoice_id()
    rows = [f"{first + n},Customer {n},{n}.{n % 100:02d},0" for n in range(ROWS)]
    rows.insert(700, "not-a-number,Broken Row,1.00,0")  # one bad row in a middle chunk (file line 702)
    key = f"bills-due/fanout-{first}.csv"
    text = "InvoiceID,CustomerName,Balance,IsProcessed\n" + "\n".join(rows) + "\n"
    s3 = aws.client("s3")
    s3.put_object(Bucket=deployment["bills_bucket"], Key=key, Body=text.encode())

    def report():
        try:
            return s3.get_object(Bucket=deployment["bills_bucket"], Key=key + ".rejected.jsonl")["Body"].read()
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
    leftovers = s3.list_objects_v2(Bucket=deployment["bills_bucket"], Prefix=key + ".rejected.jsonl.part")
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
