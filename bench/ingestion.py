"""Ingestion of a bills-due file, S3 -> Lambda -> DynamoDB, against the original design and the table's ceiling.

"Last row readable" is detected cheaply: ingest_bills writes `<key>.rejected.jsonl` when a file is complete, after
every write of the file has finished, so the clock stops when that report appears (polled with HEAD every 50 ms);
then a random sample of the rows (and the last one) is read back consistently and compared with the file.
"""

from __future__ import annotations

import csv
import io
import json
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

from bench.common import REPO, Stack, poll
from bench.memory import PeakMemory
from bench.scaffold import Scaffold, handler_zip
from seed.bills import HEADER, BillsSpec, bill_rows
from seed.people import NameSampler

SAMPLE_ROWS = 200
CEILING_THREADS = 8
BATCH_WRITE = 25


@dataclass
class BillsFile:
    """A CSV of bills in memory, and what its rows must read back as."""

    first_id: int
    rows: int
    data: bytes
    amount_shift: Decimal = Decimal("0")

    def records(self) -> Iterator[list[str]]:
        reader = csv.reader(io.StringIO(self.data.decode()))
        next(reader)
        yield from reader


def make_bills(first_id: int, rows: int, amount_shift: Decimal = Decimal("0"), seed: int = 7) -> BillsFile:
    """Rows from the seed generator (same seed: same names and amounts); amount_shift changes every balance."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for invoice_id, name, balance, paid in bill_rows(BillsSpec(rows=rows, start_id=first_id, seed=seed), NameSampler()):
        writer.writerow((invoice_id, name, f"{balance + amount_shift:.2f}", paid))
    return BillsFile(first_id, rows, out.getvalue().encode(), amount_shift)


def shifted(bills: BillsFile, first_id: int) -> BillsFile:
    """The same rows under other invoice ids (the ceiling writes the same rows without touching the ingested ones)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for invoice_id, name, balance, paid in bills.records():
        writer.writerow((int(invoice_id) - bills.first_id + first_id, name, balance, paid))
    return BillsFile(first_id, bills.rows, out.getvalue().encode(), bills.amount_shift)


def verify_sample(stack: Stack, table: str, bills: BillsFile) -> int:
    """Read back a random sample (and the last row) consistently; raise if any differs from the file. Returns n."""
    expected = {int(r[0]): r for r in bills.records()}
    ids = random.Random(1).sample(sorted(expected), min(SAMPLE_ROWS, len(expected)))
    ids = sorted(set(ids) | {bills.first_id + bills.rows - 1})
    dynamodb = stack.client("dynamodb")
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), 100):
        request = {
            table: {"Keys": [{"InvoiceID": {"N": str(i)}} for i in ids[start : start + 100]], "ConsistentRead": True}
        }
        for _ in range(10):
            response = dynamodb.batch_get_item(RequestItems=request)
            for item in response["Responses"].get(table, []):
                found[int(item["InvoiceID"]["N"])] = item
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
    for invoice_id in ids:
        item = found.get(invoice_id)
        _, name, balance, paid = expected[invoice_id]
        if (
            not item
            or Decimal(item["Balance"]["N"]) != Decimal(balance)
            or item["CustomerName"]["S"] != name
            or item["IsProcessed"]["N"] != paid
        ):
            raise AssertionError(f"invoice {invoice_id}: stored {item}, file says {expected[invoice_id]}")
    return len(ids)


def report_key(key: str) -> str:
    return f"{key}.rejected.jsonl"


def ingest_through_s3(
    stack: Stack, key: str, bills: BillsFile, timeout_s: float, allow_partial: bool = False
) -> dict[str, Any]:
    """Upload the file to the bills bucket and wait for ingestion to finish; seconds, rows/s, peak memory.
    With allow_partial, a run still going after timeout_s reports how far it got instead of failing."""
    s3 = stack.client("s3")
    bucket, table = stack.outputs["bills_bucket"], stack.outputs["balance_table"]
    with PeakMemory(stack.function("ingest_bills")) as memory:
        started = time.perf_counter()
        s3.put_object(Bucket=bucket, Key=key, Body=bills.data)
        try:
            poll(lambda: _exists(s3, bucket, report_key(key)), timeout_s, interval_s=0.05 if bills.rows < 10**6 else 1)
        except TimeoutError:
            if not allow_partial:
                raise
            seconds = time.perf_counter() - started
            done = rows_done(stack, table, bills)
            return {
                "completed": False,
                "seconds": seconds,
                "rows_done": done,
                "rows_per_s": done / seconds,
                "peak_rss_mb": memory.peak_rss_mb,
                "lifetime_hwm_mb": memory.lifetime_hwm_mb,
                "processes": len(memory.processes),
            }
        seconds = time.perf_counter() - started
    rejected = s3.get_object(Bucket=bucket, Key=report_key(key))["Body"].read()
    if rejected.strip():
        raise AssertionError(f"{key}: rows rejected: {rejected[:300]!r}")
    checked = verify_sample(stack, table, bills)
    for leftover in (key, report_key(key)):
        s3.delete_object(Bucket=bucket, Key=leftover)
    return {
        "completed": True,
        "seconds": seconds,
        "rows_per_s": bills.rows / seconds,
        "verified_rows": checked,
        "peak_rss_mb": memory.peak_rss_mb,
        "lifetime_hwm_mb": memory.lifetime_hwm_mb,
        "processes": len(memory.processes),
    }


def rows_done(stack: Stack, table: str, bills: BillsFile) -> int:
    """How many leading rows of a file (of new invoices, written in file order) are in the table: binary search
    for the first missing invoice id (the few batches in flight make it exact to within a few hundred rows)."""
    dynamodb = stack.client("dynamodb")

    def present(index: int) -> bool:
        key = {"InvoiceID": {"N": str(bills.first_id + index)}}
        return "Item" in dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)

    low, high = 0, bills.rows  # rows [0, low) present; the first missing one is below high
    while low < high:
        middle = (low + high) // 2
        if present(middle):
            low = middle + 1
        else:
            high = middle
    return low


def _exists(s3: Any, bucket: str, key: str) -> bool | None:
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except s3.exceptions.ClientError:
        return None


def ceiling(stack: Stack, bills: BillsFile, warm_up: BillsFile | None = None) -> dict[str, Any]:
    """The benchmark process writing the rows straight into the table: parallel BatchWriteItem of 25 items.
    warm_up (other ids) is written first, unmeasured: a fresh DynamoDB Local's JVM is several times slower."""
    if warm_up:
        _batch_write(stack, warm_up)
    started = time.perf_counter()
    _batch_write(stack, bills)
    seconds = time.perf_counter() - started
    verify_sample(stack, stack.outputs["balance_table"], bills)
    return {"seconds": seconds, "rows_per_s": bills.rows / seconds, "threads": CEILING_THREADS}


def _batch_write(stack: Stack, bills: BillsFile) -> None:
    table = stack.outputs["balance_table"]
    dynamodb = stack.client("dynamodb", pool=CEILING_THREADS * 2)
    items = [
        {
            "PutRequest": {
                "Item": {
                    "InvoiceID": {"N": r[0]},
                    "CustomerName": {"S": r[1]},
                    "Balance": {"N": r[2]},
                    "IsProcessed": {"N": r[3]},
                }
            }
        }
        for r in bills.records()
    ]

    def write(batch: list[dict[str, Any]]) -> None:
        pending: dict[str, Any] = {table: batch}
        for _ in range(20):
            pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                return
            time.sleep(0.05)
        raise RuntimeError("DynamoDB kept items unprocessed")

    with ThreadPoolExecutor(CEILING_THREADS) as pool:
        list(pool.map(write, (items[i : i + BATCH_WRITE] for i in range(0, len(items), BATCH_WRITE))))


def baseline(stack: Stack, scaffold: Scaffold, bucket: str, bills: BillsFile) -> dict[str, Any]:
    """The original design (bench/baseline_update_item.py, one update_item per row, sequentially) in a Lambda."""
    name = scaffold.function("baseline-update-item", handler_zip(Path(__file__).with_name("baseline_update_item.py")))
    s3, lambdas = stack.client("s3"), stack.client("lambda", read_timeout=960)
    table = stack.outputs["balance_table"]
    lambdas.invoke(FunctionName=name, Payload=b'{"warm": true}')  # start its process (fails fast: no bucket key)
    key = "baseline/bills.csv"
    started = time.perf_counter()
    s3.put_object(Bucket=bucket, Key=key, Body=bills.data)
    response = lambdas.invoke(FunctionName=name, Payload=json.dumps({"bucket": bucket, "key": key, "table": table}))
    body = json.loads(response["Payload"].read())
    seconds = time.perf_counter() - started
    if "FunctionError" in response or body.get("rows") != bills.rows:
        raise AssertionError(f"baseline failed: {body}")
    verify_sample(stack, table, bills)
    return {"seconds": seconds, "rows_per_s": bills.rows / seconds}


def fan_out(stack: Stack, scaffold: Scaffold, bucket: str, bills: BillsFile, chunks: int) -> dict[str, Any]:
    """The chunked continuation path: a copy of ingest_bills (same zip and layer) with a small INGEST_CHUNK_BYTES,
    invoked with an S3 event for a file in the benchmark's bucket (no product trigger watches it)."""
    lambdas, s3 = stack.client("lambda"), stack.client("s3")
    deployed = lambdas.get_function_configuration(FunctionName=stack.function("ingest_bills"))
    chunk_bytes = max(1024, len(bills.data) // chunks)
    name = scaffold.function(
        "ingest-small-chunks",
        (REPO / "build" / "functions" / "ingest_bills.zip").read_bytes(),
        {**deployed["Environment"]["Variables"], "INGEST_CHUNK_BYTES": str(chunk_bytes)},  # logs, metrics, tracing too
        runtime=deployed["Runtime"],
        layers=[layer["Arn"] for layer in deployed.get("Layers", [])],
        timeout=300,
    )
    key = "bills-due/fan-out.csv"
    etag = s3.put_object(Bucket=bucket, Key=key, Body=bills.data)["ETag"]
    event = {"Records": [{"s3": {"bucket": {"name": bucket}, "object": {"key": key, "eTag": etag.strip('"')}}}]}
    with PeakMemory(name) as memory:
        started = time.perf_counter()
        lambdas.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps(event).encode())
        poll(lambda: _exists(s3, bucket, report_key(key)), timeout_s=max(120.0, bills.rows / 100))
        seconds = time.perf_counter() - started
    leftovers = [
        o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=key).get("Contents", []) if ".part-" in o["Key"]
    ]
    verify_sample(stack, stack.outputs["balance_table"], bills)
    return {
        "seconds": seconds,
        "rows_per_s": bills.rows / seconds,
        "chunk_bytes": chunk_bytes,
        "chunks_logged": logged_chunks(stack, name),
        "leftover_part_reports": len(leftovers),
        "processes": len(memory.processes),
        "peak_rss_mb": memory.peak_rss_mb,
    }


def logged_chunks(stack: Stack, function_name: str) -> int:
    """How many `ingest_chunk` lines the function logged (CloudWatch Logs; waits up to 5 s for late delivery)."""
    logs = stack.client("logs")
    group, count, deadline = f"/aws/lambda/{function_name}", -1, time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            events = [
                e
                for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group)
                for e in page["events"]
            ]
        except logs.exceptions.ResourceNotFoundException:
            events = []
        now = sum('"ingest_chunk"' in e["message"] for e in events)
        if now == count and now > 0:
            break
        count = now
        time.sleep(1)
    return count
