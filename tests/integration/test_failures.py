"""No upload is lost quietly: a file that fails every attempt lands in the failure queue with what to act on, its
alarm reaches the operations topic, other files keep flowing, and `make redrive` ingests it once it can be read.

The poison file is a bills CSV stored in the GLACIER class: S3 refuses to read it (InvalidObjectState) until it is
restored, so every attempt fails, as it would on AWS for a file archived before it was ingested.
"""

from __future__ import annotations

import json
import random
import time
from decimal import Decimal

from ops import failures
from tests.helpers.stack import make, reset_alarms, told_of_alarms, unique_invoice_id, wait_for

HEADER = "InvoiceID,CustomerName,Balance,IsProcessed\n"


def failure_records(aws, deployment) -> list[failures.Failure]:
    """The failure queue's records, read as `make failures` reads them (left in the queue)."""
    sqs, url = aws.client("sqs"), deployment["ingest_failures_queue_url"]
    messages = list(failures.receive_all(sqs, url, failures.LIST_HIDE_S))
    failures.show_again(sqs, url, messages)
    return [failures.describe(json.loads(message["Body"])) for message in messages]


def failure_records_for(aws, deployment, key: str, bucket_key: str = "bills_bucket") -> list[failures.Failure]:
    """The records that name this object of the deployment's bucket."""
    name = f"{deployment[bucket_key]}/{key} "
    return [failure for failure in failure_records(aws, deployment) if any(o.startswith(name) for o in failure.objects)]


def balances(aws, deployment, ids: list[int]) -> dict[int, Decimal]:
    table = aws.resource("dynamodb").Table(deployment["balance_table"])
    items = (table.get_item(Key={"InvoiceID": invoice_id}, ConsistentRead=True).get("Item") for invoice_id in ids)
    return {int(item["InvoiceID"]): item["Balance"] for item in items if item}


def test_a_poison_file_is_kept_alarmed_and_redriven_once(aws, deployment, operations_inbox, request):
    s3, cloudwatch = aws.client("s3"), aws.client("cloudwatch")
    alarms = [deployment["alarm_names"]["ingest-bills-errors"], deployment["alarm_names"]["ingest-failures-waiting"]]
    sqs, inbox = operations_inbox
    reset_alarms(cloudwatch, alarms, sqs, inbox)

    first = unique_invoice_id()
    poison_ids, good_ids = [first, first + 1, first + 2], [first + 3]
    poison_rows = {first: "10.00", first + 1: "20.50", first + 2: "0.99"}
    poison_key = f"bills-due/archived-{first}.csv"
    # Should the test stop half-way, its record must not make a later redrive fail: a deleted file redrives as done.
    request.addfinalizer(lambda: s3.delete_object(Bucket=deployment["bills_bucket"], Key=poison_key))
    started = time.monotonic()
    s3.put_object(
        Bucket=deployment["bills_bucket"],
        Key=poison_key,
        StorageClass="GLACIER",
        Body=(HEADER + "".join(f"{i},Archived {i},{amount},0\n" for i, amount in poison_rows.items())).encode(),
    )
    s3.put_object(
        Bucket=deployment["bills_bucket"],
        Key=f"bills-due/fine-{first}.csv",
        Body=f"{HEADER}{good_ids[0]},Still Flowing,7.00,0\n".encode(),
    )

    # Other files keep flowing while the poison file fails.
    wait_for(lambda: balances(aws, deployment, good_ids) == {good_ids[0]: Decimal("7.00")}, timeout=30)

    # Within its retry budget (3 attempts, retried after 1 s and 2 s locally) it lands in the queue, with what to act
    # on.
    [failure] = wait_for(lambda: failure_records_for(aws, deployment, poison_key), timeout=60)
    to_record = time.monotonic() - started
    assert failure.function == deployment["function_names"]["ingest_bills"]
    assert (failure.condition, failure.attempts) == ("RetriesExhausted", 3)
    etag = s3.head_object(Bucket=deployment["bills_bucket"], Key=poison_key)["ETag"].strip('"')
    assert failure.objects == [f"{deployment['bills_bucket']}/{poison_key} (etag {etag}, version None)"]
    assert failure.error.startswith("InvalidObjectState:")
    assert balances(aws, deployment, poison_ids) == {}  # nothing half-applied

    # Someone is told: both alarms reach ALARM and their messages arrive on the operations topic.
    def alarmed():
        states = {
            a["AlarmName"]: a["StateValue"] for a in cloudwatch.describe_alarms(AlarmNames=alarms)["MetricAlarms"]
        }
        return all(state == "ALARM" for state in states.values())

    wait_for(alarmed, timeout=90, interval=1)
    to_alarm = time.monotonic() - started
    told_of_alarms(sqs, inbox, alarms)
    print(f"\npoison upload -> failure record {to_record:.1f} s, -> both alarms {to_alarm:.1f} s")

    # `make failures` shows it; `make redrive` cannot ingest it yet and keeps it.
    listed = make("failures")
    assert listed.returncode == 0 and poison_key in listed.stdout and "InvalidObjectState" in listed.stdout
    refused = make("redrive")
    assert refused.returncode != 0 and "still failing" in refused.stdout
    assert len(failure_records_for(aws, deployment, poison_key)) == 1

    # The cause is fixed (the file is restored): redrive ingests it and removes the record.
    s3.restore_object(Bucket=deployment["bills_bucket"], Key=poison_key, RestoreRequest={"Days": 1})
    record_body = json.dumps(
        {"requestContext": {"functionArn": failure.function_arn}, "requestPayload": failure.payload}
    )
    redriven = make("redrive")
    assert redriven.returncode == 0, redriven.stdout + redriven.stderr
    assert f"redriven: {failure.function}" in redriven.stdout and poison_key in redriven.stdout
    expected = {i: Decimal(amount) for i, amount in poison_rows.items()}
    assert balances(aws, deployment, poison_ids) == expected
    assert failure_records_for(aws, deployment, poison_key) == []

    # A replay of the same record (a redrive whose delete was lost) neither loses nor doubles a row.
    aws.client("sqs").send_message(QueueUrl=deployment["ingest_failures_queue_url"], MessageBody=record_body)
    again = make("redrive")
    assert again.returncode == 0 and poison_key in again.stdout
    assert balances(aws, deployment, poison_ids) == expected
    report = s3.get_object(Bucket=deployment["bills_bucket"], Key=poison_key + ".rejected.jsonl")
    assert report["Body"].read() == b""  # every row was good, once


def test_a_salary_file_that_cannot_be_read_is_kept_and_redriven(aws, deployment, request):
    """The salary pipeline has the same safety net: its own function in the record, replayed by the same redrive."""
    s3 = aws.client("s3")
    emp_id = unique_invoice_id()
    key = f"salaries/{random.SystemRandom().randint(2100, 9999)}-{1 + emp_id % 12:02d}.csv"  # a month of its own
    request.addfinalizer(lambda: s3.delete_object(Bucket=deployment["salary_bucket"], Key=key))
    s3.put_object(
        Bucket=deployment["salary_bucket"],
        Key=key,
        StorageClass="GLACIER",
        Body=f"EmpID,EmpName,EmpSalary\n{emp_id},Archived Payroll,4321.09\n".encode(),
    )

    [failure] = wait_for(lambda: failure_records_for(aws, deployment, key, "salary_bucket"), timeout=60)
    assert failure.function == deployment["function_names"]["salary_files"]
    assert failure.error.startswith("InvalidObjectState:")

    s3.restore_object(Bucket=deployment["salary_bucket"], Key=key, RestoreRequest={"Days": 1})
    redriven = make("redrive")
    assert redriven.returncode == 0 and f"redriven: {failure.function}" in redriven.stdout
    item = (
        aws.resource("dynamodb")
        .Table(deployment["salary_table"])
        .get_item(Key={"EmpID": emp_id, "EmpName": "Archived Payroll"}, ConsistentRead=True)["Item"]
    )
    assert item["TotalSalary"] == Decimal("4321.09")
