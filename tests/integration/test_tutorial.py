"""The original tutorial this product grew from, unchanged: its files and its page's request against the deployed stack.

The artefacts are made with the tutorial's own algorithms: the `names` package (drawn as seed/people.py draws it,
exactly as the package does without reading its files again for every name), its columns, value ranges and file
names, no header, dropped at the bucket root. One of its bugs is left out, as the issue asks: its salary generator
gave an employee a new EmpID (and a new random name) every month, so no employee ever had a year; here each of the
100 employees keeps one EmpID and one name. (Its other bugs are in its functions and page, which are not used: its
bills function skipped the first bill, and its page sent "both" whatever was ticked.)

The tutorial's keys and invoice ids are fixed, so a rerun against the same stack replaces what the last run wrote: a
salary file replaces its own key's contribution, and a bill a run paid stays paid, which the checks expect.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import uuid
from collections import defaultdict
from decimal import Decimal

import pytest
import requests

from seed.people import NameSampler
from tests.helpers.stack import GOOD_CARD, Bucket, sent_emails, unique_phone, wait_for

TIMEOUT = 180.0  # 1,000 bills and 12 x 100 salaries on a loaded 2-core machine
BILLS_KEY = "paymentbalance.csv"
BILL_IDS = range(1, 1001)
SALARY_KEYS = [f"salarydata-{month}.csv" for month in range(1, 13)]
EMPLOYEES = range(1, 101)


def tutorial_bills() -> dict[int, tuple[str, int]]:
    """logs/paymentbalance.csv's rows: InvoiceID -> (CustomerName, Balance); IsProcessed is always 0."""
    names, rng = NameSampler(), random.Random()
    return {n: (names.full_name(rng, gender="female"), rng.randint(500, 900)) for n in BILL_IDS}


def bills_csv(bills: dict[int, tuple[str, int]]) -> str:
    return "".join(f"{n},{name},{balance},0\n" for n, (name, balance) in bills.items())


def tutorial_salaries() -> dict[str, list[tuple[int, str, int]]]:
    """logs/salarydata-<month>.csv's rows by key: even rows a male name, odd ones a female name, salary 5555-7777."""
    names, rng = NameSampler(), random.Random()
    staff = [(n, names.full_name(rng, gender="male" if n % 2 == 0 else "female")) for n in EMPLOYEES]
    return {key: [(emp_id, name, rng.randint(5555, 7777)) for emp_id, name in staff] for key in SALARY_KEYS}


def salary_csv(rows: list[tuple[int, str, int]]) -> str:
    return "".join(f"{emp_id},{name},{salary}\n" for emp_id, name, salary in rows)


def written(bucket: Bucket, key: str) -> str:
    """The object's text once it exists (an empty report is a written one)."""
    wait_for(lambda: bucket.head(key), timeout=TIMEOUT, interval=1.0)
    return bucket.read(key)


def read_items(aws, table_name: str, keys: list[dict]) -> list[dict]:
    """Every item of these keys, read consistently in batches of 100."""
    dynamodb, items = aws.resource("dynamodb"), []
    for start in range(0, len(keys), 100):
        request = {table_name: {"Keys": keys[start : start + 100], "ConsistentRead": True}}
        while request:
            answer = dynamodb.batch_get_item(RequestItems=request)
            items += answer["Responses"].get(table_name, [])
            request = answer.get("UnprocessedKeys")
    return items


def balances(aws, deployment) -> dict[int, dict]:
    items = read_items(aws, deployment["balance_table"], [{"InvoiceID": n} for n in BILL_IDS])
    return {int(item["InvoiceID"]): item for item in items}


@pytest.fixture(scope="module")
def bills_landed(aws, deployment) -> dict[int, tuple[str, int]]:
    """The tutorial's bills file uploaded at the root of the bills bucket, and its report once written (the report
    is written after the last row, so its appearance means the file is in)."""
    bucket = Bucket(aws.client("s3"), deployment["bills_bucket"])
    bills = tutorial_bills()
    paid_before = {n for n, item in balances(aws, deployment).items() if item["IsProcessed"] == 1}
    bucket.delete(BILLS_KEY + ".rejected.jsonl")  # the last run's
    bucket.upload(BILLS_KEY, bills_csv(bills))
    assert written(bucket, BILLS_KEY + ".rejected.jsonl") == "", "no row may be rejected"
    return {n: bill for n, bill in bills.items() if n not in paid_before}


def test_every_bill_of_the_tutorials_file_lands_the_first_one_included(aws, deployment, bills_landed):
    stored = balances(aws, deployment)
    assert set(stored) == set(BILL_IDS)
    for invoice_id, (name, balance) in bills_landed.items():
        assert (
            stored[invoice_id]["CustomerName"],
            stored[invoice_id]["Balance"],
            stored[invoice_id]["IsProcessed"],
        ) == (name, Decimal(balance), 0), invoice_id
    # A bill an earlier run paid stays paid (docs/ingestion.md); on a fresh stack every bill is in bills_landed.
    assert all(stored[n]["IsProcessed"] == 1 for n in set(BILL_IDS) - set(bills_landed))


def test_the_tutorials_twelve_salary_files_total_each_employee_once(aws, deployment):
    bucket = Bucket(aws.client("s3"), deployment["salary_bucket"])
    files = tutorial_salaries()
    copies = {key: f"processed/processed_{key.removesuffix('.csv')}.psv" for key in SALARY_KEYS}
    bucket.delete(*copies.values())  # the last run's; a copy is written last, when its file is fully processed
    for key, rows in files.items():
        bucket.upload(key, salary_csv(rows))
    for key, copy in copies.items():
        psv = list(csv.reader(io.StringIO(written(bucket, copy)), delimiter="|"))
        assert psv == [["EmpID", "EmpName", "EmpSalary"]] + [[str(value) for value in row] for row in files[key]]
        assert bucket.read(key + ".rejected.jsonl") == ""

    expected: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for rows in files.values():
        for emp_id, name, salary in rows:
            expected[(emp_id, name)] += salary
    assert len(expected) == len(EMPLOYEES)

    def totals() -> dict[tuple[int, str], Decimal]:
        keys = [{"EmpID": emp_id, "EmpName": name} for emp_id, name in expected]
        items = read_items(aws, deployment["salary_table"], keys)
        return {(int(item["EmpID"]), item["EmpName"]): item["TotalSalary"] for item in items}

    assert totals() == expected

    # Any of the twelve uploaded again changes nothing.
    again = SALARY_KEYS[4]
    bucket.delete(copies[again])
    bucket.upload(again, salary_csv(files[again]))
    written(bucket, copies[again])
    assert totals() == expected


def test_the_tutorials_page_pays_without_a_key_and_posting_twice_is_one_payment(aws, deployment, api, bills_landed):
    invoice_id = min(bills_landed)  # unpaid: the first bill, unless an earlier run paid it
    bill = api.balance_legacy(invoice_id).json()  # the page's Get Balance: /paymentbalance/id?InvoiceID=
    email = f"tutorial-{uuid.uuid4().hex[:10]}@example.com"
    # The page's JSON.stringify of its inputs' values: strings everywhere but WaitSeconds, and no Idempotency-Key.
    # Choices is what is ticked (email only), not the "both" the tutorial's page sent whatever was ticked.
    body = {
        "InvoiceID": str(invoice_id),
        "BillersName": bill["CustomerName"],
        "BillingAmount": bill["Balance"],
        "CardNumber": GOOD_CARD,
        "ExpiryDate": "12/39",
        "EmailId": email,
        "PhnNumber": unique_phone(),
        "Choices": "email",
        "WaitSeconds": 10,
    }

    def post() -> requests.Response:
        return api.session.post(
            f"{api.base_url}/paymentbalance",
            data=json.dumps(body),
            headers={"Content-type": "application/json"},
            timeout=30,
        )

    first, second = post(), post()
    assert first.status_code == second.status_code == 202, first.text
    assert first.json() == second.json()
    payment_id = first.json()["PaymentId"]

    settled = api.wait_until_settled(payment_id, timeout=TIMEOUT)
    assert settled["Status"] == "notified" and settled["Amount"] == bill["Balance"], settled
    waited = dt.datetime.fromisoformat(settled["PaidAt"]) - dt.datetime.fromisoformat(settled["CreatedAt"])
    assert waited >= dt.timedelta(seconds=9), waited  # the page's WaitSeconds, not the server's shorter default
    assert len(sent_emails(email)) == 1  # one execution (named by the PaymentId), one e-mail
    payments = aws.resource("dynamodb").Table(deployment["payments_table"])
    payment = payments.get_item(Key={"PaymentId": payment_id}, ConsistentRead=True)["Item"]
    execution = aws.client("stepfunctions").describe_execution(executionArn=payment["ExecutionArn"])
    assert json.loads(execution["input"])["waitSeconds"] == 10
    assert GOOD_CARD not in json.dumps(payment, default=str) and GOOD_CARD not in execution["input"]
    paid = balances(aws, deployment)[invoice_id]
    assert (paid["Balance"], paid["IsProcessed"]) == (0, 1)
