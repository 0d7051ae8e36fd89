"""Payment and ingestion paths no other test takes: amounts written three ways, a bill that came in a CSV file,
duplicate rows in one file, the name-length limit, and Idempotency-Keys reused for another request or replayed
after a failed payment."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal

import pytest

from tests.helpers.stack import Bucket, change_bill, payment_body, summaries_in_logs, unique_invoice_id, wait_for

HEADER = "InvoiceID,CustomerName,Balance,IsProcessed\n"


def upload_bills(aws, deployment, key: str, text: str) -> int:
    """Put a bills file in the deployed bucket; the time (ms) just before, for its summary in the logs."""
    since_ms = int(time.time() * 1000)
    aws.client("s3").put_object(Bucket=deployment["bills_bucket"], Key=key, Body=text.encode())
    return since_ms


def invoice(aws, deployment, invoice_id: int) -> dict | None:
    table = aws.resource("dynamodb").Table(deployment["balance_table"])
    return table.get_item(Key={"InvoiceID": invoice_id}, ConsistentRead=True).get("Item")


@pytest.mark.parametrize("written", ["100", "100.0", "100.00"])
def test_an_amount_written_without_all_its_decimals_pays_the_bill(api, bill, written):
    created = bill(balance="100.00")
    response = api.pay(payment_body(created, BillingAmount=written))
    assert response.status_code == 202, response.text
    assert api.wait_until_settled(response.json()["PaymentId"])["Status"] == "notified"
    assert api.balance(created["InvoiceID"]).json()["Balance"] == "0.00"


@pytest.mark.parametrize("written", ["1e2", "100.001", "+100", "100,00", " "])
def test_an_amount_in_another_notation_is_refused_by_name(api, bill, written):
    created = bill(balance="100.00")
    response = api.pay(payment_body(created, BillingAmount=written))
    assert response.status_code == 400 and "BillingAmount" in response.json()["errors"]
    assert api.balance(created["InvoiceID"]).json()["IsProcessed"] == 0


def test_a_bill_that_came_in_a_file_is_paid_and_a_re_upload_keeps_it_paid(api, aws, deployment):
    invoice_id = unique_invoice_id()
    key, text = f"bills-due/to-pay-{invoice_id}.csv", f"{HEADER}{invoice_id},Filed Customer,42.10,0\n"
    upload_bills(aws, deployment, key, text)
    wait_for(lambda: invoice(aws, deployment, invoice_id))
    filed = {"InvoiceID": invoice_id, "CustomerName": "Filed Customer", "Balance": Decimal("42.10")}
    response = api.pay(payment_body(filed))
    assert api.wait_until_settled(response.json()["PaymentId"])["Status"] == "notified"

    since_ms = upload_bills(aws, deployment, key, text)  # the same file again, as the next day's feed would
    [summary] = wait_for(lambda: summaries_in_logs(aws, deployment, key, since_ms), timeout=60, interval=1)
    assert summary["skipped_paid"] == 1
    paid = invoice(aws, deployment, invoice_id)
    assert (paid["Balance"], paid["IsProcessed"]) == (Decimal("0"), 1)


def test_duplicate_rows_of_one_invoice_the_last_one_wins_within_and_across_batches(aws, deployment):
    first = unique_invoice_id()
    within, across = first, first + 1  # rows 1 and 2 share a batch; rows 3 and 153 do not (100 rows a batch)
    fillers = [f"{first + 10 + n},Filler {n},1.00,0" for n in range(149)]
    rows = [
        f"{within},Within Old,1.00,0",
        f"{within},Within New,1.50,0",
        f"{across},Across Old,3.00,0",
        *fillers,
        f"{across},Across New,4.00,0",
    ]
    key = f"bills-due/duplicates-{first}.csv"
    since_ms = upload_bills(aws, deployment, key, HEADER + "\n".join(rows) + "\n")
    [summary] = wait_for(lambda: summaries_in_logs(aws, deployment, key, since_ms), timeout=60, interval=1)
    assert (invoice(aws, deployment, within)["CustomerName"], invoice(aws, deployment, within)["Balance"]) == (
        "Within New",
        Decimal("1.50"),
    )
    assert (invoice(aws, deployment, across)["CustomerName"], invoice(aws, deployment, across)["Balance"]) == (
        "Across New",
        Decimal("4.00"),
    )
    # Within a batch the earlier row is superseded; across batches the later one updates what the earlier wrote.
    assert (summary["read"], summary["superseded"], summary["updated"]) == (len(rows), 1, 1), summary
    assert summary["created"] == len(rows) - 2


def test_a_name_of_200_characters_is_kept_and_one_of_201_is_reported(aws, deployment):
    first = unique_invoice_id()
    key = f"bills-due/long-names-{first}.csv"
    upload_bills(aws, deployment, key, f"{HEADER}{first},{'A' * 200},1.00,0\n{first + 1},{'B' * 201},1.00,0\n")
    [rejected] = wait_for(lambda: Bucket(aws.client("s3"), deployment["bills_bucket"]).rejected_rows(key))
    assert rejected["line"] == 3 and "200" in rejected["reason"]
    assert invoice(aws, deployment, first)["CustomerName"] == "A" * 200
    assert invoice(aws, deployment, first + 1) is None


def test_a_key_reused_for_another_invoice_is_refused_and_pays_nothing(api, bill):
    one, other, key = bill(balance="5.00"), bill(balance="5.00"), str(uuid.uuid4())
    assert api.pay(payment_body(one), key).status_code == 202
    assert api.pay(payment_body(other), key).status_code == 422
    assert api.balance(other["InvoiceID"]).json()["IsProcessed"] == 0


def test_replaying_the_key_of_a_failed_payment_answers_the_same_and_tries_nothing_again(api, bill, aws, deployment):
    created, key = bill(balance="8.00"), str(uuid.uuid4())
    body = payment_body(created)
    first = api.pay(body, key)
    change_bill(aws, deployment, created["InvoiceID"], Balance=Decimal("9.00"))  # the bill changes while it waits
    assert api.wait_until_settled(first.json()["PaymentId"])["Status"] == "failed"
    replay = api.pay(body, key)
    assert (replay.status_code, replay.json()) == (first.status_code, first.json())
    assert api.status(first.json()["PaymentId"]).json()["Status"] == "failed"  # not started again
    assert invoice(aws, deployment, created["InvoiceID"])["IsProcessed"] == 0
