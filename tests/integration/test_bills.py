"""A day's bills-due file uploaded to the bills bucket lands in the balance table (S3 → Lambda → DynamoDB)."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from tests.helpers.stack import Bucket, ingest_log_lines, stays, unique_invoice_id, wait_for


def upload(aws, deployment, key: str, text: str) -> None:
    aws.client("s3").put_object(Bucket=deployment["bills_bucket"], Key=key, Body=text.encode())


def read_bills(aws, deployment, ids: list[int]) -> dict[int, dict]:
    table = aws.resource("dynamodb").Table(deployment["balance_table"])
    found = {}
    for invoice_id in ids:
        item = table.get_item(Key={"InvoiceID": invoice_id}, ConsistentRead=True).get("Item")
        if item:
            found[invoice_id] = item
    return found


@pytest.mark.smoke
def test_a_days_file_is_loaded_and_a_paid_bill_stays_paid(aws, deployment):
    first = unique_invoice_id()
    ids = [first + n for n in range(5)]
    rows = [f'{ids[0]},"Lovelace, Ada",10.50,0', f"{ids[1]},Grace Hopper,0,1"]
    rows += [f"{invoice_id},Customer {invoice_id},{n}.25,0" for n, invoice_id in enumerate(ids[2:])]
    # A BOM, CRLF line ends and a quoted name holding a comma: what spreadsheets write.
    upload(
        aws,
        deployment,
        "bills-due/2026-11-23 day.csv",
        "\ufeffInvoiceID,CustomerName,Balance,IsProcessed\r\n" + "\r\n".join(rows) + "\r\n",
    )
    bills = wait_for(lambda: (found := read_bills(aws, deployment, ids)) and len(found) == len(ids) and found)
    assert bills[ids[0]]["CustomerName"] == "Lovelace, Ada"
    assert bills[ids[0]]["Balance"] == Decimal("10.50") and bills[ids[0]]["IsProcessed"] == 0
    assert bills[ids[1]]["IsProcessed"] == 1

    # The next day's file lists the paid bill again as due: it must not un-pay it. The unpaid one changes amount.
    next_day = (
        f'InvoiceID,CustomerName,Balance,IsProcessed\n{ids[1]},Grace Hopper,99.00,0\n{ids[0]},"Lovelace, Ada",12.00,0\n'
    )
    upload(aws, deployment, "bills-due/2026-11-24.csv", next_day)
    wait_for(lambda: read_bills(aws, deployment, [ids[0]])[ids[0]]["Balance"] == Decimal("12.00"))
    paid = read_bills(aws, deployment, [ids[1]])[ids[1]]
    assert paid["IsProcessed"] == 1 and paid["Balance"] == Decimal("0")


def test_rejected_rows_are_reported_next_to_the_file_and_good_rows_still_load(aws, deployment):
    good, bad = unique_invoice_id(), unique_invoice_id() + 1
    text = (
        "InvoiceID,CustomerName,Balance,IsProcessed\n"
        f"{good},Good Row,5.00,0\n"
        f"-3,Negative Id,5.00,0\n"
        f"{bad},Three Decimals,5.001,0\n"
        f"{bad},,5.00,0\n"
        f"{bad},Bad Flag,5.00,7\n"
        f"{bad},Too,Many,Columns,0\n"
    )
    key = f"bills-due/rejects-{good}.csv"
    upload(aws, deployment, key, text)
    lines = wait_for(lambda: Bucket(aws.client("s3"), deployment["bills_bucket"]).rejected_rows(key))
    assert [entry["line"] for entry in lines] == [3, 4, 5, 6, 7]
    assert all(entry["reason"] for entry in lines)
    assert good in read_bills(aws, deployment, [good])
    assert read_bills(aws, deployment, [bad]) == {}


def test_a_csv_anywhere_is_loaded_and_a_file_that_is_not_csv_is_ignored(aws, deployment):
    invoice_id = unique_invoice_id()
    text = f"InvoiceID,CustomerName,Balance,IsProcessed\n{invoice_id},Elsewhere,1.00,0\n"
    since_ms = int(time.time() * 1000)
    ignored = [f"bills-due/{invoice_id}.txt", f"{invoice_id}.csv.rejected.jsonl"]  # the second: our own reports' shape
    for key in ignored:
        upload(aws, deployment, key, text)
    elsewhere, root = unique_invoice_id() + 7, unique_invoice_id() + 8
    started = time.monotonic()
    upload(aws, deployment, f"other/{elsewhere}.csv", text.replace(str(invoice_id), str(elsewhere)))
    upload(aws, deployment, f"{root}.csv", text.replace(str(invoice_id), str(root)))
    wait_for(lambda: len(read_bills(aws, deployment, [elsewhere, root])) == 2)  # the two .csv files went through...
    # ...the other two did not, nor did the function ever see them. S3 events need not arrive in upload order, so
    # give theirs at least as long as the .csv files took to land (and 5 s) before calling them ignored.
    stays(
        lambda: read_bills(aws, deployment, [invoice_id]) == {}
        and not any(ingest_log_lines(aws, deployment, key, since_ms) for key in ignored),
        seconds=max(5.0, time.monotonic() - started),
    )
