"""A redeployed ingest_bills takes the next upload at once, and a bills file too big for one invocation completes
through chunked continuation, on the deployed function through its S3 trigger.

The chunk size is the deployment's `ingest_chunk_bytes`. The module deploys with 4 KB (as `make deploy` would with
TF_VAR_ingest_chunk_bytes=4096), so that a small file needs many chunks, exactly as a multi-gigabyte file would with
the default, and deploys the default again afterwards. That deploy is also the redeploy the first test uploads
right after (tests run in file order).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.helpers.stack import Bucket, deploy_with, unique_invoice_id, wait_for

CHUNK_BYTES = 4096
ROWS = 1500  # about 45 KB: a dozen chunks
BAD_LINE = 702  # one bad row in a middle chunk


@pytest.fixture(scope="module")
def small_chunks(deployment):
    """The deployment, with ingest_bills reading 4 KB per invocation while the module runs."""
    deploy_with(TF_VAR_ingest_chunk_bytes=str(CHUNK_BYTES))
    try:
        yield
    finally:
        deploy_with()


def test_an_upload_right_after_a_redeploy_is_ingested_at_once(aws, deployment, small_chunks):
    """`make deploy` that changes a function, then an upload (as `make run` seeds): LocalStack's old event poller
    would hide that S3 event for the function's timeout + 60 s, so deploy.py waits for it to stop. Through deploy.py
    itself (the fixture's deploy_with), so the test fails if that wait goes."""
    invoice_id = unique_invoice_id()
    aws.client("s3").put_object(
        Bucket=deployment["bills_bucket"],
        Key=f"bills-due/after-redeploy-{invoice_id}.csv",
        Body=f"InvoiceID,CustomerName,Balance,IsProcessed\n{invoice_id},Right After,3.00,0\n".encode(),
    )
    table = aws.resource("dynamodb").Table(deployment["balance_table"])
    wait_for(
        lambda: table.get_item(Key={"InvoiceID": invoice_id}, ConsistentRead=True).get("Item"), timeout=30
    )  # not timeout + 60 = 360 s


def test_a_file_larger_than_a_chunk_is_loaded_completely(aws, deployment, small_chunks):
    first = unique_invoice_id()
    expected = {first + n: (f"Customer {n}", Decimal(f"{n}.{n % 100:02d}")) for n in range(ROWS)}
    rows = [f"{invoice_id},{name},{balance},0" for invoice_id, (name, balance) in expected.items()]
    rows.insert(BAD_LINE - 2, "not-a-number,Broken Row,1.00,0")
    key = f"bills-due/fanout-{first}.csv"
    text = "InvoiceID,CustomerName,Balance,IsProcessed\n" + "\n".join(rows) + "\n"
    s3, bucket = aws.client("s3"), deployment["bills_bucket"]
    s3.put_object(Bucket=bucket, Key=key, Body=text.encode())

    rejected = wait_for(lambda: Bucket(s3, bucket).rejected_rows(key), timeout=120)
    assert [entry["line"] for entry in rejected] == [BAD_LINE]

    # Every row, with its own name and balance, exactly once.
    table, stored = deployment["balance_table"], {}
    ids = list(expected)
    for start in range(0, ROWS, 100):
        keys = [{"InvoiceID": invoice_id} for invoice_id in ids[start : start + 100]]
        response = aws.resource("dynamodb").batch_get_item(RequestItems={table: {"Keys": keys, "ConsistentRead": True}})
        stored.update(
            {int(item["InvoiceID"]): (item["CustomerName"], item["Balance"]) for item in response["Responses"][table]}
        )
    assert stored == expected

    # The part reports of the chunks were joined into the report and removed; it took many invocations.
    leftovers = s3.list_objects_v2(Bucket=bucket, Prefix=key + ".rejected.jsonl.part")
    assert leftovers.get("KeyCount", 0) == 0
    chunks = chunk_log_lines(aws, deployment["function_names"]["ingest_bills"], key)
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
