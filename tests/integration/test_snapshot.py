"""`make snapshot` / `make restore`: a user's bills, payments and salaries come back exactly, also into a freshly
started and deployed stack, and restoring uploads does not run ingestion again.

A restore rewrites whole tables and buckets, and one test stops and starts its stack, so these tests run on a stack
of their own: a copy of the checkout (tests/helpers/stack.py, separate_checkout) on another port, started, deployed and
stopped through its make targets, as a user does. Data is seeded through the real paths (uploads to the buckets, a
payment through the API) and compared by full scans and object checksums with what the snapshot holds.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import boto3
import pytest

from tests.helpers.stack import (
    Api,
    Bucket,
    free_port,
    pans_in,
    payment_body,
    separate_checkout,
    stays,
    unique_invoice_id,
    wait_for,
)

TABLES = ("balance_table", "payments_table", "salary_table")
BUCKETS = ("bills_bucket", "salary_bucket")
BILLS_HEADER = "InvoiceID,CustomerName,Balance,IsProcessed\n"
# Two stack starts and two deploys on a shared 2-core machine.
pytestmark = pytest.mark.timeout(900)


class OwnStack:
    """A checkout copy with its own stack on its own port, driven through make as a user drives it."""

    def __init__(self, checkout: Path, port: int):
        self.checkout, self.endpoint = checkout, f"http://127.0.0.1:{port}"
        self.env = {**os.environ, "LOCALSTACK_PORT": str(port), "AWS_ENDPOINT_URL": self.endpoint}
        for name in ("DEPLOY_OUTPUTS", "TF_WORKSPACE", "NAME_PREFIX"):  # the default deployment of the copy
            self.env.pop(name, None)

    def make(self, target: str, **variables: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["make", "-s", target, *(f"{name}={value}" for name, value in variables.items())],
            cwd=self.checkout,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    def run(self, target: str, **variables: str) -> str:
        result = self.make(target, **variables)
        assert result.returncode == 0, f"make {target}:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        return result.stdout

    @property
    def outputs(self) -> dict:
        return json.loads((self.checkout / "build" / "outputs.json").read_text())

    def client(self, service: str):
        return boto3.client(service, endpoint_url=self.endpoint)

    def bucket(self, output: str) -> Bucket:
        return Bucket(self.client("s3"), self.outputs[output])


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory):
    # A folder name of its own: in docker mode it is also the copy's compose project name.
    stack = OwnStack(separate_checkout(tmp_path_factory.mktemp("snapshot-checkout")), free_port())
    try:
        stack.run("up")
        stack.run("deploy")
        yield stack
    finally:
        stack.make("down")


def canonical(value: dict) -> dict:
    """A typed value as DynamoDB compares it: numbers by value, sets in any order. (DynamoDB Local reads back the
    "1000.50" an UpdateItem wrote as such, but as "1000.5" once a PutItem wrote it; AWS drops such zeros always.)"""
    ((kind, inner),) = value.items()
    if kind == "N":
        return {kind: str(Decimal(inner).normalize())}
    if kind == "NS":
        return {kind: sorted(str(Decimal(number).normalize()) for number in inner)}
    if kind == "SS":
        return {kind: sorted(inner)}
    if kind == "M":
        return {kind: {name: canonical(item) for name, item in inner.items()}}
    if kind == "L":
        return {kind: [canonical(item) for item in inner]}
    return value


def item_text(item: dict) -> str:
    return json.dumps({name: canonical(value) for name, value in item.items()}, sort_keys=True)


def data_of(stack: OwnStack) -> dict:
    """Every item of the deployment's tables (typed, compared as DynamoDB compares values) and every object of its
    data buckets: SHA-256 of the content, content type, user metadata."""
    outputs, dynamodb, s3 = stack.outputs, stack.client("dynamodb"), stack.client("s3")
    tables = {
        output: sorted(
            item_text(item)
            for page in dynamodb.get_paginator("scan").paginate(TableName=outputs[output], ConsistentRead=True)
            for item in page["Items"]
        )
        for output in TABLES
    }
    buckets = {}
    for output in BUCKETS:
        buckets[output] = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=outputs[output]):
            for listed in page.get("Contents", []):
                got = s3.get_object(Bucket=outputs[output], Key=listed["Key"])
                buckets[output][listed["Key"]] = (
                    hashlib.sha256(got["Body"].read()).hexdigest(),
                    got["ContentType"],
                    got["Metadata"],
                )
    return {"tables": tables, "buckets": buckets}


def saved_data(folder: Path) -> dict:
    """What a snapshot folder holds, in data_of's shape; each object's checksum computed from its saved content."""
    manifest = json.loads((folder / "manifest.json").read_text())
    files = {
        "balance_table": "balance",
        "payments_table": "payments",
        "salary_table": "salary",
        "bills_bucket": "bills",
        "salary_bucket": "salary",
    }
    tables = {
        output: sorted(
            item_text(json.loads(line))
            for line in (folder / manifest["tables"][files[output]]["file"]).read_text().splitlines()
        )
        for output in TABLES
    }
    buckets = {}
    for output in BUCKETS:
        entries = [
            json.loads(line) for line in (folder / manifest["buckets"][files[output]]["file"]).read_text().splitlines()
        ]
        buckets[output] = {
            entry["key"]: (
                hashlib.sha256((folder / "objects" / entry["sha256"]).read_bytes()).hexdigest(),
                entry["headers"].get("ContentType"),
                entry["metadata"],
            )
            for entry in entries
        }
    return {"tables": tables, "buckets": buckets}


def triggers(stack: OwnStack) -> dict:
    s3 = stack.client("s3")
    return {
        output: {
            name: value
            for name, value in s3.get_bucket_notification_configuration(Bucket=stack.outputs[output]).items()
            if name != "ResponseMetadata"
        }
        for output in BUCKETS
    }


def log_lines(stack: OwnStack, function: str, key: str, since_ms: int) -> list[str]:
    """The function's log lines naming this key since a time (every line about an uploaded file carries its key)."""
    group = f"/aws/lambda/{stack.outputs['function_names'][function]}"
    pages = stack.client("logs").get_paginator("filter_log_events").paginate(logGroupName=group, startTime=since_ms)
    return [event["message"] for page in pages for event in page["events"] if key in event["message"]]


def bill_in_table(stack: OwnStack, invoice_id: int) -> dict | None:
    return (
        stack.client("dynamodb")
        .get_item(
            TableName=stack.outputs["balance_table"], ConsistentRead=True, Key={"InvoiceID": {"N": str(invoice_id)}}
        )
        .get("Item")
    )


def upload_bills(stack: OwnStack, key: str, rows: str) -> None:
    """A bills file through the trigger, returned once ingestion has written every row (its report comes last)."""
    bills = stack.bucket("bills_bucket")
    bills.upload(key, BILLS_HEADER + rows)
    wait_for(lambda: bills.rejected_rows(key) is not None, timeout=60)


def pay(stack: OwnStack, invoice_id: int, name: str, amount: str) -> str:
    """A payment through the API, returned once it is settled; its id."""
    api = Api(stack.outputs["api_url"])
    accepted = api.pay(payment_body({"InvoiceID": invoice_id, "CustomerName": name, "Balance": Decimal(amount)}))
    assert accepted.status_code == 202, accepted.text
    payment_id = accepted.json()["PaymentId"]
    assert api.wait_until_settled(payment_id)["Status"] == "notified"
    return payment_id


def seed(stack: OwnStack) -> dict:
    """A day of bills with one rejected row, a paid bill, a month of salaries and a note with a type and metadata."""
    first = unique_invoice_id()
    bills_key = f"bills-due/snapshot-{first}.csv"
    upload_bills(
        stack,
        bills_key,
        f"{first},Ada Lovelace,125.50,0\n{first + 1},Grace Hopper,20.00,0\n"
        f"{first + 2},Paid Already,0,1\nnot-a-number,Bad Row,1.00,0\n",
    )
    month = f"{2100 + first % 7000}-03"
    salary_key = f"salaries/{month}.csv"
    salaries = stack.bucket("salary_bucket")
    salaries.upload(
        salary_key, f"EmpID,EmpName,EmpSalary\n{first},Ada Lovelace,1000.50\n{first + 1},Alan Turing,99.99\n"
    )
    wait_for(lambda: salaries.head(f"processed/salaries/processed_{month}.psv"), timeout=60)  # written last
    stack.client("s3").put_object(
        Bucket=stack.outputs["bills_bucket"],
        Key=f"notes/{first}.txt",
        Body=b"as it was",
        ContentType="text/plain; charset=utf-8",
        Metadata={"written-by": "snapshot test"},
    )
    payment_id = pay(stack, first, "Ada Lovelace", "125.50")
    return {"first": first, "bills_key": bills_key, "salary_key": salary_key, "payment_id": payment_id}


def test_a_restore_puts_back_exactly_what_was_saved_and_ingests_nothing_again(own_stack):
    stack = own_stack
    seeded = seed(stack)
    first = seeded["first"]
    before, triggers_before = data_of(stack), triggers(stack)
    stack.run("snapshot", NAME="before-changes")
    folder = stack.checkout / "snapshots" / "before-changes"
    assert saved_data(folder) == before
    # A snapshot is one more place the data lives: no card number in it, as in the stores (tests/security).
    assert pans_in("\n".join(path.read_text(errors="replace") for path in folder.rglob("*") if path.is_file())) == []

    # More items and objects, deleted ones, changed ones.
    later = first + 50
    upload_bills(stack, f"bills-due/snapshot-{later}.csv", f"{later},Later Customer,5.00,0\n")
    pay(stack, later, "Later Customer", "5.00")
    stack.client("dynamodb").delete_item(
        TableName=stack.outputs["balance_table"], Key={"InvoiceID": {"N": str(first + 1)}}
    )
    stack.client("s3").put_object(
        Bucket=stack.outputs["bills_bucket"],
        Key=f"notes/{first}.txt",
        Body=b"changed",
        ContentType="text/markdown",
        Metadata={"written-by": "someone else"},
    )
    salaries = stack.bucket("salary_bucket")
    salaries.delete(*[key for key in data_of(stack)["buckets"]["salary_bucket"] if key.startswith("processed/")])
    assert data_of(stack) != before

    restore_started_ms = int(time.time() * 1000)
    stack.run("restore", NAME="before-changes")
    assert data_of(stack) == before
    assert triggers(stack) == triggers_before

    # The triggers work again: a new file is ingested. The restored .csv files were not ingested again: give their
    # events at least as long as the new file took (and 5 s) to show in the functions' logs.
    started = time.monotonic()
    sentinel = first + 60
    upload_bills(stack, f"bills-due/snapshot-{sentinel}.csv", f"{sentinel},After Restore,1.00,0\n")
    assert bill_in_table(stack, sentinel)
    stays(
        lambda: not log_lines(stack, "ingest_bills", seeded["bills_key"], restore_started_ms)
        and not log_lines(stack, "salary_files", seeded["salary_key"], restore_started_ms),
        seconds=max(5.0, time.monotonic() - started),
    )


def test_without_a_known_name_nothing_happens_and_it_says_what_to_do(own_stack):
    stack = own_stack
    missing = stack.make("restore")
    assert missing.returncode != 0 and "NAME=<name>" in missing.stderr
    unknown = stack.make("restore", NAME="no-such-snapshot")
    assert unknown.returncode != 0 and "no snapshot named no-such-snapshot" in unknown.stderr
    stack.run("snapshot", NAME="listed")
    assert stack.make("snapshot", NAME="listed").returncode != 0  # a name in use is not overwritten
    assert any(line.startswith("listed ") for line in stack.run("snapshot").splitlines())


def test_a_user_keeps_bills_and_payments_across_make_down(own_stack):
    stack = own_stack
    seeded = seed(stack)
    before = data_of(stack)
    stack.run("snapshot", NAME="across-down")

    stack.run("down")
    stack.run("up")
    not_deployed = stack.make("restore", NAME="across-down")
    assert not_deployed.returncode != 0 and "make deploy" in not_deployed.stderr
    stack.run("deploy")
    fresh = data_of(stack)
    assert all(items == [] for items in fresh["tables"].values())
    assert all(objects == {} for objects in fresh["buckets"].values())

    stack.run("restore", NAME="across-down")
    assert data_of(stack) == before
    api = Api(stack.outputs["api_url"])  # the new deployment's
    bill = api.balance(seeded["first"])
    assert bill.status_code == 200 and (bill.json()["Balance"], bill.json()["IsProcessed"]) == ("0.00", 1), bill.text
    assert api.status(seeded["payment_id"]).json()["Status"] == "notified"
