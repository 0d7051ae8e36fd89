"""Monthly salary files in the deployed salary bucket: .psv copies, reports and totals (S3 -> Lambda -> DynamoDB).

Runs against the deployed local stack (the `deployment` fixture gives the bucket and table). A month's file is the
whole payroll of that month, so each test uses a year and an employee-id range of its own: reruns against the same
stack (and `make seed`'s data) never replace each other's months.
"""

from __future__ import annotations

import csv
import io
import json
import random
import time
from collections import defaultdict
from decimal import Decimal

import pytest

from seed.salaries import SalariesSpec, salary_csv, year_of_rows
from tests.helpers.stack import Bucket, wait_for

PROCESSING_TIMEOUT = 60.0
UNSEEDED = random.SystemRandom()
HEADER_LINE = "EmpID,EmpName,EmpSalary\n"
Totals = dict[tuple[int, str], Decimal]


@pytest.fixture
def s3(aws, deployment) -> Bucket:
    return Bucket(aws.client("s3"), deployment["salary_bucket"])


@pytest.fixture
def table(aws, deployment):
    return aws.resource("dynamodb").Table(deployment["salary_table"])


@pytest.fixture
def run_space() -> tuple[int, int]:
    """A (year, first employee id) no other run uses: the year keeps months apart, the ids keep totals apart."""
    # Not the module-level random: unit tests seed it, which gave every run against one stack the same years.
    year = UNSEEDED.randint(2100, 9999)
    first_id = int(time.time() * 1000) % 10**10 * 1000 + UNSEEDED.randrange(1000)
    return year, first_id


def sums_of(files: dict[str, str]) -> Totals:
    expected: Totals = defaultdict(Decimal)
    for text in files.values():
        for row in csv.DictReader(io.StringIO(text)):
            expected[(int(row["EmpID"]), row["EmpName"])] += Decimal(row["EmpSalary"])
    return dict(expected)


def read_totals(table, employees) -> Totals:
    found = {}
    for emp_id, name in employees:
        item = table.get_item(Key={"EmpID": emp_id, "EmpName": name}, ConsistentRead=True).get("Item")
        if item:
            found[(emp_id, name)] = item["TotalSalary"]
    return found


def wait_for_totals(table, expected: Totals) -> None:
    wait_for(lambda: read_totals(table, expected) == expected, timeout=PROCESSING_TIMEOUT, interval=1.0)


def processed_key(key: str) -> str:
    folder, _, name = key.rpartition("/")
    return f"processed/{folder}/processed_{name.removesuffix('.csv')}.psv"


def wait_until_processed(s3, key: str, after: float = 0.0) -> dict:
    """The .psv copy is written last, so one newer than `after` means the upload is fully processed."""

    def fresh_copy():
        found = s3.head(processed_key(key))
        return found if found and found["LastModified"].timestamp() >= after else None

    return wait_for(fresh_copy, timeout=PROCESSING_TIMEOUT, interval=1.0)


def test_a_year_totals_a_replayed_month_and_a_corrected_month(s3, table, run_space):
    year, first_id = run_space
    rows = year_of_rows(SalariesSpec(year=year, employees=20, start_id=first_id, seed=first_id))
    files = {key: salary_csv(month) for key, month in rows.items()}
    for key, text in files.items():
        s3.upload(key, text)
    wait_for_totals(table, sums_of(files))

    # The same month uploaded again: once it is processed, the totals are what they were.
    replayed = f"salaries/{year}-05.csv"
    before = wait_until_processed(s3, replayed)["LastModified"].timestamp()
    time.sleep(1.1)  # S3 times have whole seconds: make the replay's copy visibly newer
    s3.upload(replayed, files[replayed])
    wait_until_processed(s3, replayed, after=before + 1)
    assert read_totals(table, sums_of(files)) == sums_of(files)

    # A corrected March: every salary one cent higher replaces March's contribution, it does not add to it.
    march = f"salaries/{year}-03.csv"
    files[march] = salary_csv([(emp_id, name, salary + Decimal("0.01")) for emp_id, name, salary in rows[march]])
    s3.upload(march, files[march])
    wait_for_totals(table, sums_of(files))


def test_the_psv_copy_reads_back_to_exactly_the_csv_rows(s3, table, run_space):
    year, first_id = run_space
    key = f"salaries/{year}-01.csv"
    text = (
        HEADER_LINE + f'{first_id},"Lovelace, Ada",6000.10\n{first_id + 1},"Pipe | Person",5555.00\n'
        f'{first_id + 2},"Quote ""Q"" Person",7777\n'
    )
    s3.upload(key, text)
    wait_until_processed(s3, key)
    psv = s3.read(processed_key(key))
    assert list(csv.reader(io.StringIO(psv), delimiter="|")) == list(csv.reader(io.StringIO(text)))
    piped = (first_id + 1, "Pipe | Person")
    assert read_totals(table, [piped]) == {piped: Decimal("5555.00")}


def test_bad_rows_are_reported_and_good_rows_still_count(s3, table, run_space):
    year, first_id = run_space
    key = f"salaries/{year}-02.csv"
    good = f"{first_id},Good One,6000.00\n{first_id + 5},Good Two,5555.55\n"
    bad = (
        f"{first_id + 1},,6000.00\n{first_id + 2},Not Money,six\n{first_id + 3},Negative,-1.00\n{first_id + 4},Short\n"
    )
    s3.upload(key, HEADER_LINE + good + bad)
    wait_until_processed(s3, key)
    report = s3.read(key + ".rejected.jsonl")
    entries = [json.loads(line) for line in report.splitlines()]
    assert [entry["line"] for entry in entries] == [4, 5, 6, 7]
    assert all(entry["reason"] for entry in entries)
    expected = {(first_id, "Good One"): Decimal("6000.00"), (first_id + 5, "Good Two"): Decimal("5555.55")}
    assert read_totals(table, expected) == expected
    assert read_totals(table, [(first_id + 2, "Not Money"), (first_id + 3, "Negative")]) == {}
