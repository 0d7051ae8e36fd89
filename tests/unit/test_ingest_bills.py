"""ingest_bills against moto: rows land in the table, paid bills stay paid, reports and chunked continuation."""

import json
from decimal import Decimal

import boto3
import pytest

from payproc import aws, bill_ingest, bill_store, payment_store
from payproc.bills import BillRow
from tests.helpers.handlers import (
    mocked_aws,
    s3_event,
    BALANCE_TABLE,
    BILLS_BUCKET,
    PAYMENTS_TABLE,
    REGION,
    FakeContext,
    after_next_call,
    create_tables,
    load_handler,
    use_mock_environment,
)

HEADER = "InvoiceID,CustomerName,Balance,IsProcessed\n"


@pytest.fixture
def stack(monkeypatch):
    use_mock_environment(monkeypatch)
    with mocked_aws():
        create_tables()
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BILLS_BUCKET)
        yield load_handler("ingest_bills")


def upload(key: str, text: str | bytes) -> dict:
    """Put the object and return the S3 event the bucket notification would send (key URL-encoded)."""
    s3 = boto3.client("s3", region_name=REGION)
    body = text.encode() if isinstance(text, str) else text
    etag = s3.put_object(Bucket=BILLS_BUCKET, Key=key, Body=body)["ETag"]
    return s3_event(BILLS_BUCKET, key, etag, len(body))


def bills() -> dict[int, dict]:
    items = boto3.resource("dynamodb", region_name=REGION).Table(BALANCE_TABLE).scan()["Items"]
    return {int(item["InvoiceID"]): item for item in items}


def report(key: str) -> list[dict]:
    body = boto3.client("s3", region_name=REGION).get_object(Bucket=BILLS_BUCKET, Key=key + ".rejected.jsonl")["Body"]
    return [json.loads(line) for line in body.read().decode().splitlines()]


def test_a_file_loads_and_a_paid_bill_stays_paid(stack):
    text = (
        '\ufeffInvoiceID,CustomerName,Balance,IsProcessed\r\n1,"Lovelace, Ada",10.50,0\r\n'
        "2,Grace,0,1\r\n3,Alan,3.25,0\r\n"
    )
    result = stack.handler(upload("bills-due/2026-11-23 day.csv", text), FakeContext())
    assert result["files"][0]["summary"]["created"] == 3
    assert bills()[1] == {
        "InvoiceID": 1,
        "CustomerName": "Lovelace, Ada",
        "Balance": Decimal("10.50"),
        "IsProcessed": 0,
    }
    assert report("bills-due/2026-11-23 day.csv") == []

    next_day = HEADER + '2,Grace,99.00,0\n1,"Lovelace, Ada",12.00,0\n3,Alan,3.25,0\n'
    summary = stack.handler(upload("bills-due/2026-11-24.csv", next_day), FakeContext())["files"][0]["summary"]
    assert (summary["updated"], summary["skipped_paid"], summary["skipped_unchanged"]) == (1, 1, 1)
    assert bills()[2]["IsProcessed"] == 1 and bills()[2]["Balance"] == 0
    assert bills()[1]["Balance"] == Decimal("12.00")


def test_an_identical_reupload_writes_nothing(stack, monkeypatch):
    text = HEADER + "".join(f"{n},Customer {n},{n}.10,{n % 2}\n" for n in range(1, 251))
    first = stack.handler(upload("bills-due/day.csv", text), FakeContext())["files"][0]["summary"]
    assert first["created"] == 250 and first["written"] == 250
    second = stack.handler(upload("bills-due/day.csv", text), FakeContext())["files"][0]["summary"]
    assert second["written"] == 0 and second["skipped"] == 250 and second["read"] == 250


def test_rejected_rows_are_reported_next_to_the_file(stack):
    text = (
        HEADER
        + "10,Good,5.00,0\n-3,Negative,5.00,0\n11,Three,5.001,0\n11,,5.00,0\n11,Flag,5.00,7\n"
        + "11,Too,Many,Columns,0\n12,B\xe9d,1,0\n"
    )
    body = text.encode("latin-1")
    summary = stack.handler(upload("bills-due/rejects.csv", body), FakeContext())["files"][0]["summary"]
    entries = report("bills-due/rejects.csv")
    assert [entry["line"] for entry in entries] == [3, 4, 5, 6, 7, 8]
    assert all(entry["reason"] for entry in entries) and entries[0]["row"] == ["-3", "Negative", "5.00", "0"]
    assert set(bills()) == {10}
    assert (summary["read"], summary["rejected"], summary["written"]) == (7, 6, 1)


def test_a_wrong_header_is_one_rejection_and_nothing_loads(stack):
    stack.handler(upload("bills-due/bad.csv", "Id,Name\n1,a\n"), FakeContext())
    assert report("bills-due/bad.csv")[0]["line"] == 1 and bills() == {}


def test_a_file_without_a_header_loads_from_its_first_line(stack):
    # The tutorial's generator writes no header (and its own function then dropped the first bill).
    text = "".join(f"{n},Customer {n},{500 + n},0\n" for n in range(1, 6))
    summary = stack.handler(upload("bills-due/paymentbalance.csv", text), FakeContext())["files"][0]["summary"]
    assert summary["created"] == 5 and report("bills-due/paymentbalance.csv") == []
    assert bills()[1] == {"InvoiceID": 1, "CustomerName": "Customer 1", "Balance": Decimal("501"), "IsProcessed": 0}


def test_a_first_line_that_is_neither_header_nor_row_loads_nothing(stack):
    stack.handler(upload("bills-due/bad-first.csv", "1,Ada,five,0\n2,Grace,900,0\n"), FakeContext())
    [entry] = report("bills-due/bad-first.csv")
    assert entry["line"] == 1 and "Balance" in entry["reason"] and bills() == {}


def test_a_csv_anywhere_loads_and_other_keys_are_ignored(stack):
    assert (
        stack.handler(upload("paymentbalance.csv", HEADER + "1,a,1,0\n"), FakeContext())["files"][0]["summary"][
            "created"
        ]
        == 1
    )
    assert (
        stack.handler(upload("other/x.csv", HEADER + "2,b,1,0\n"), FakeContext())["files"][0]["summary"]["created"] == 1
    )
    for key in ("bills-due/x.txt", "paymentbalance.csv.rejected.jsonl", "x.csv.rejected.jsonl.part-000000000000001"):
        assert stack.handler(upload(key, HEADER + "3,c,1,0\n"), FakeContext()) == {"files": []}
    assert set(bills()) == {1, 2}


def test_a_large_file_completes_through_chunked_continuations(stack, monkeypatch):
    monkeypatch.setenv("INGEST_CHUNK_BYTES", "2000")
    from payproc.config import reload_settings

    reload_settings()
    rows = [f'{n},"Customer, {n}",{n}.01,0' for n in range(1, 601)]
    rows[100] = "bad,row,1,0"
    rows[450] = "9999,Wrong,Columns"
    continuations = []
    monkeypatch.setattr(bill_ingest, "invoke_continuation", lambda arn, job: continuations.append(job))
    event = upload("bills-due/big.csv", "\ufeff" + HEADER + "\r\n".join(rows) + "\r\n")
    stack.handler(event, FakeContext())
    handled = 0
    while continuations:  # what Lambda's async invocations would do, one after another
        job = continuations.pop(0)
        payload = json.loads(json.dumps({"continuation": bill_ingest.asdict(job)}))  # it travels as JSON
        result = stack.handler(payload, FakeContext())
        handled += 1
    assert handled > 5
    assert len(bills()) == 598 and bills()[600]["CustomerName"] == "Customer, 600"
    assert [entry["line"] for entry in report("bills-due/big.csv")] == [102, 452]
    total = result["files"][0]["summary"]
    assert (total["read"], total["created"], total["rejected"]) == (600, 598, 2)
    leftovers = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=BILLS_BUCKET)["Contents"]
    assert sorted(entry["Key"] for entry in leftovers) == ["bills-due/big.csv", "bills-due/big.csv.rejected.jsonl"]


def test_a_continuation_stops_when_time_runs_short(stack, monkeypatch):
    continuations = []
    monkeypatch.setattr(bill_ingest, "invoke_continuation", lambda arn, job: continuations.append(job))
    event = upload("bills-due/slow.csv", HEADER + "".join(f"{n},C,1.00,0\n" for n in range(1, 50)))
    stack.handler(event, FakeContext(remaining_ms=5_000))  # below the 10 s reserve: one row, then hand over
    assert len(bills()) == 1 and continuations[0].line == 3 and continuations[0].offset > len(HEADER)


def test_a_replaced_file_stops_the_old_continuation(stack, monkeypatch):
    event = upload("bills-due/replaced.csv", HEADER + "1,a,1,0\n")
    upload("bills-due/replaced.csv", HEADER + "2,b,1,0\n")
    assert stack.handler(event, FakeContext())["files"][0]["summary"] is None
    assert bills() == {}


def test_every_line_of_an_ingestion_carries_its_bucket_and_key_and_its_rows_are_counted(
    stack, log_lines, metric_documents
):
    stack.handler(upload("bills-due/logged.csv", HEADER + "1,Ada,10.00,0\n2,Bob,ten,0\n3,Cy,1,0\n"), FakeContext())
    stack.handler(upload("other/x.txt", HEADER), FakeContext())
    lines = log_lines()
    assert [line["message"] for line in lines] == ["ingest_chunk", "ingest_summary", "ingest_ignored"]
    assert lines[0]["location"].startswith("run_job:")  # logged by payproc.bill_ingest
    assert [(line["bucket"], line["key"]) for line in lines] == [(BILLS_BUCKET, "bills-due/logged.csv")] * 2 + [
        (BILLS_BUCKET, "other/x.txt")
    ]
    assert lines[1]["counts"]["created"] == 2
    [document] = metric_documents()  # the ignored file counted nothing
    assert (document["RowsIngested"], document["RowsRejected"]) == ([2.0], [1.0])


# --- a payment committing while a re-uploaded file updates the same invoice ------------------------------------------


def commit_a_payment(invoice_id: int, amount: str) -> str:
    """A payment of the invoice committing as process_payment commits it; returns its id."""
    payment_id = f"payment-{invoice_id}-{amount}"
    boto3.resource("dynamodb", region_name=REGION).Table(PAYMENTS_TABLE).put_item(
        Item={"PaymentId": payment_id, "Status": "accepted", "InvoiceID": invoice_id, "Amount": Decimal(amount)}
    )
    assert (
        payment_store.commit_payment(
            BALANCE_TABLE, PAYMENTS_TABLE, payment_id, invoice_id, Decimal(amount), None, "test_charge"
        )
        == "paid"
    )
    return payment_id


def change_balance(invoice_id: int, amount: str) -> None:
    boto3.resource("dynamodb", region_name=REGION).Table(BALANCE_TABLE).update_item(
        Key={"InvoiceID": invoice_id},
        UpdateExpression="SET Balance = :b",
        ExpressionAttributeValues={":b": Decimal(amount)},
    )


def test_a_payment_committing_between_the_files_read_and_its_write_keeps_its_bill_paid(stack, log_lines):
    stack.handler(
        upload("bills-due/day-1.csv", HEADER + "1,Ada,10.00,0\n2,Grace,20.00,0\n3,Alan,30.00,0\n"), FakeContext()
    )
    paid_meanwhile = []
    after_next_call(aws.bulk_dynamodb(), "BatchGetItem", lambda: paid_meanwhile.append(commit_a_payment(2, "20.00")))
    day_2 = HEADER + "1,Ada,11.00,0\n2,Grace,21.00,0\n3,Alan,31.00,0\n"
    summary = stack.handler(upload("bills-due/day-2.csv", day_2), FakeContext())["files"][0]["summary"]
    assert paid_meanwhile, "the payment did not commit between the read and the write"
    assert (summary["updated"], summary["skipped_paid"]) == (2, 1)
    stored = bills()
    assert (stored[1]["Balance"], stored[3]["Balance"]) == (Decimal("11.00"), Decimal("31.00"))
    assert (stored[2]["Balance"], stored[2]["IsProcessed"], stored[2]["LastPaymentId"]) == (0, 1, paid_meanwhile[0])
    [cancelled] = [line for line in log_lines() if line["message"] == "update_transaction_cancelled"]
    assert cancelled["reasons"] == "ConditionalCheckFailed" and cancelled["invoices"] == 3


def test_a_payment_committing_between_the_re_read_and_the_update_of_one_invoice_is_seen_on_the_retry(stack):
    stack.handler(upload("bills-due/day-1.csv", HEADER + "2,Grace,20.00,0\n"), FakeContext())
    # Another file changes the bill after this one read it (the transaction cancels); then, after the re-read of
    # the invoice on its own, a payment of the new balance commits (the single update fails, and is retried).
    after_next_call(aws.bulk_dynamodb(), "BatchGetItem", lambda: change_balance(2, "25.00"))
    after_next_call(aws.dynamodb(), "GetItem", lambda: commit_a_payment(2, "25.00"))
    summary = stack.handler(upload("bills-due/day-2.csv", HEADER + "2,Grace,21.00,0\n"), FakeContext())["files"][0][
        "summary"
    ]
    assert (summary["updated"], summary["skipped_paid"]) == (0, 1)
    assert (bills()[2]["Balance"], bills()[2]["IsProcessed"]) == (0, 1)


def test_another_change_between_the_read_and_the_write_is_overwritten_by_the_file(stack):
    stack.handler(upload("bills-due/day-1.csv", HEADER + "2,Grace,20.00,0\n"), FakeContext())
    after_next_call(aws.bulk_dynamodb(), "BatchGetItem", lambda: change_balance(2, "25.00"))
    summary = stack.handler(upload("bills-due/day-2.csv", HEADER + "2,Grace,21.00,0\n"), FakeContext())["files"][0][
        "summary"
    ]
    assert summary["updated"] == 1 and bills()[2]["Balance"] == Decimal("21.00")


def test_an_invoice_that_keeps_changing_fails_the_batch_by_name_instead_of_looping(stack):
    stack.handler(upload("bills-due/day-1.csv", HEADER + "2,Grace,20.00,0\n"), FakeContext())
    changes = iter(range(100))
    aws.dynamodb().meta.events.register(
        "after-call.dynamodb.GetItem", lambda **_: change_balance(2, f"{30 + next(changes)}.00")
    )
    row = BillRow(invoice_id=2, customer_name="Grace", balance=Decimal("21.00"), is_processed=0)
    with pytest.raises(RuntimeError, match="invoice 2 kept changing"):
        bill_store.apply_one(BALANCE_TABLE, row, sleep=lambda seconds: None)
    assert next(changes) == bill_store.CONDITIONAL_RETRIES  # one re-read per attempt, then it gave up
