"""The salary function's AWS I/O under moto: S3 event in; .psv copy, report and totals out."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from decimal import Decimal
from types import SimpleNamespace

import boto3
import pytest

from payproc import salaries, salary_store
from seed.salaries import SalariesSpec, salary_csv, year_of_rows
from tests.helpers.handlers import mocked_aws, FakeContext, load_handler, s3_event, use_mock_environment

BUCKET, TABLE = "test-salary-files", "test-EmployeeSalary"
HEADER_LINE = "EmpID,EmpName,EmpSalary\n"


@pytest.fixture
def aws(monkeypatch):
    use_mock_environment(monkeypatch, SALARY_TABLE=TABLE)
    with mocked_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "EmpID", "KeyType": "HASH"}, {"AttributeName": "EmpName", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "EmpID", "AttributeType": "N"},
                {"AttributeName": "EmpName", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield SimpleNamespace(s3=s3, table=boto3.resource("dynamodb").Table(TABLE))


@pytest.fixture
def upload(aws):
    """Put an object and deliver its S3 event to the handler (key URL-encoded as S3 sends it); return the summary."""

    def put_and_deliver(key: str, text: str | bytes) -> dict:
        body = text.encode() if isinstance(text, str) else text
        etag = aws.s3.put_object(Bucket=BUCKET, Key=key, Body=body)["ETag"]
        return deliver(key, etag, len(body))

    def deliver(key: str, etag: str, size: int) -> dict:
        [summary] = function.handler(s3_event(BUCKET, key, etag, size), FakeContext())["files"]
        return summary

    function = load_handler("salary_files")

    put_and_deliver.deliver = deliver
    return put_and_deliver


def totals(aws) -> dict[tuple[int, str], Decimal]:
    """Every employee's total (contribution items, under negative month keys, left out)."""
    items = aws.table.scan(ConsistentRead=True)["Items"]
    return {(int(i["EmpID"]), i["EmpName"]): i["TotalSalary"] for i in items if i["EmpID"] > 0}


def sums_of(files: dict[str, str]) -> dict[tuple[int, str], Decimal]:
    """What the totals must be: each employee's salaries added up from the CSV texts."""
    expected: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for text in files.values():
        for row in csv.DictReader(io.StringIO(text)):
            expected[(int(row["EmpID"]), row["EmpName"])] += Decimal(row["EmpSalary"])
    return dict(expected)


def read_object(aws, key: str) -> bytes | None:
    try:
        return aws.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    except aws.s3.exceptions.NoSuchKey:
        return None


def report(aws, key: str) -> list[dict] | None:
    body = read_object(aws, key + ".rejected.jsonl")
    return None if body is None else [json.loads(line) for line in body.decode().splitlines()]


def test_a_year_of_files_totals_replays_and_a_corrected_month(aws, upload):
    # 30 employees: enough for two transactions a month; moto copies the whole table for every transaction.
    files = {key: salary_csv(rows) for key, rows in year_of_rows(SalariesSpec(year=2026, employees=30, seed=5)).items()}
    for key, text in files.items():
        assert upload(key, text)["outcome"] == "processed"
    assert totals(aws) == sums_of(files)
    assert len(totals(aws)) == 30

    # The same month again (a re-upload, or S3 delivering the event twice): nothing changes.
    assert upload("salaries/2026-05.csv", files["salaries/2026-05.csv"])["employees_changed"] == 0
    assert totals(aws) == sums_of(files)

    # A corrected March: one salary changed, one employee dropped, one name fixed (a new key in the table).
    march = list(csv.reader(io.StringIO(files["salaries/2026-03.csv"])))
    march[1][2] = "5555.55"
    dropped = march.pop(2)
    march[3][1] = "Renamed Person"
    corrected = "".join(",".join(r) + "\n" for r in march)
    assert upload("salaries/2026-03.csv", corrected)["employees_changed"] == 4
    files["salaries/2026-03.csv"] = corrected
    expected = sums_of(files)
    assert totals(aws) == expected
    renamed_id = int(march[3][0])
    assert (renamed_id, "Renamed Person") in expected and len([k for k in expected if k[0] == renamed_id]) == 2
    assert (int(dropped[0]), dropped[1]) in expected  # still paid in the other eleven months


def test_the_psv_reads_back_to_exactly_the_csv_rows(aws, upload):
    text = HEADER_LINE + '1,"Lovelace, Ada",6000.10\n2,"Pipe | Person",5555.00\n3,"Quote ""Q"" Person",7777\n'
    summary = upload("salaries/2026-01.csv", text)
    assert summary["processed_key"] == "processed/salaries/processed_2026-01.psv"
    psv = read_object(aws, summary["processed_key"]).decode()
    assert '"Pipe | Person"' in psv and "Lovelace, Ada" in psv
    assert list(csv.reader(io.StringIO(psv), delimiter="|")) == list(csv.reader(io.StringIO(text)))
    assert totals(aws)[(2, "Pipe | Person")] == Decimal("5555.00")


def test_a_bom_crlf_and_a_url_encoded_key_with_spaces(aws, upload):
    key = "salaries/acme payroll/2026-02 final.csv"
    upload(key, "\ufeffEmpID,EmpName,EmpSalary\r\n1,Ada Lovelace,6000.00\r\n")
    assert totals(aws) == {(1, "Ada Lovelace"): Decimal("6000.00")}
    assert read_object(aws, "processed/salaries/acme payroll/processed_2026-02 final.psv") is not None


def test_bad_rows_go_to_the_report_and_good_rows_still_count(aws, upload):
    text = (
        HEADER_LINE + "1,Good One,6000.00\n"
        "2,,6000.00\n"  # missing name
        "3,Too,Many,Columns\n"  # wrong column count
        "4,Not Money,six\n"  # non-numeric
        "5,Negative,-1.00\n"  # negative
        "6,Short\n"  # missing a column
        "1,Good One,6000.00\n"  # the same employee twice
        "7,Good Two,5555.55\n"
    )
    summary = upload("salaries/2026-04.csv", text)
    assert (summary["rows_counted"], summary["rows_rejected"]) == (2, 6)
    entries = report(aws, "salaries/2026-04.csv")
    assert [e["line"] for e in entries] == [3, 4, 5, 6, 7, 8]
    assert entries[0]["row"] == ["2", "", "6000.00"] and "missing EmpName" in entries[0]["reason"]
    assert "columns" in entries[1]["reason"] and "EmpSalary" in entries[2]["reason"]
    assert "already listed" in entries[5]["reason"]
    assert totals(aws) == {(1, "Good One"): Decimal("6000.00"), (7, "Good Two"): Decimal("5555.55")}
    psv = read_object(aws, "processed/salaries/processed_2026-04.psv").decode()
    assert psv == "EmpID|EmpName|EmpSalary\n1|Good One|6000.00\n7|Good Two|5555.55\n"

    # The corrected file has no bad rows: its (empty) report replaces the old one.
    upload("salaries/2026-04.csv", HEADER_LINE + "1,Good One,6000.00\n7,Good Two,5555.55\n")
    assert report(aws, "salaries/2026-04.csv") == []


@pytest.mark.parametrize("text", [HEADER_LINE.encode(), b"EmpID,EmpName,EmpSalary\r\n\r\n"])
def test_a_header_only_file_is_a_no_op(aws, upload, text):
    upload("salaries/2026-01.csv", HEADER_LINE + "1,Ada Lovelace,6000.00\n")
    before = aws.table.scan(ConsistentRead=True)["Items"]
    assert upload("salaries/2026-01.csv", text)["outcome"] == "no-op"
    assert aws.table.scan(ConsistentRead=True)["Items"] == before
    assert report(aws, "salaries/2026-01.csv") == []  # still the first run's report: nothing was written


@pytest.mark.parametrize("text", [b"", b"\xef\xbb\xbf"])
def test_an_empty_file_is_rejected_whole_as_a_bills_file_is_and_changes_nothing(aws, upload, text):
    upload("salaries/2026-01.csv", HEADER_LINE + "1,Ada Lovelace,6000.00\n")
    before = aws.table.scan(ConsistentRead=True)["Items"]
    assert upload("salaries/2026-01.csv", text)["outcome"] == "rejected"
    assert aws.table.scan(ConsistentRead=True)["Items"] == before
    [entry] = report(aws, "salaries/2026-01.csv")
    assert (entry["line"], entry["row"]) == (1, []) and "the file is empty" in entry["reason"]


def test_an_event_for_a_deleted_file_is_skipped_as_a_bills_file_is(aws, upload):
    etag = aws.s3.put_object(Bucket=BUCKET, Key="salaries/2026-05.csv", Body=HEADER_LINE + "1,Ada,1.00\n")["ETag"]
    aws.s3.delete_object(Bucket=BUCKET, Key="salaries/2026-05.csv")
    assert upload.deliver("salaries/2026-05.csv", etag, 10)["outcome"] == "superseded"
    assert totals(aws) == {}


def test_a_file_with_only_bad_rows_leaves_its_month_as_it_was(aws, upload):
    upload("salaries/2026-06.csv", HEADER_LINE + "1,Ada Lovelace,6000.00\n")
    summary = upload("salaries/2026-06.csv", HEADER_LINE + "1,Ada Lovelace,lots\n")
    assert summary["outcome"] == "rejected"
    assert totals(aws) == {(1, "Ada Lovelace"): Decimal("6000.00")}
    assert len(report(aws, "salaries/2026-06.csv")) == 1


def test_a_header_with_other_names_rejects_the_whole_file_with_a_report(aws, upload):
    assert upload("salaries/2026-07.csv", "Id,Name,Salary\n1,Ada,6000.00\n")["outcome"] == "rejected"
    assert [(e["line"], e["row"]) for e in report(aws, "salaries/2026-07.csv")] == [(1, [])]
    assert "expected the header" in report(aws, "salaries/2026-07.csv")[0]["reason"]
    assert totals(aws) == {}


def test_files_without_a_month_each_count_once_by_their_key(aws, upload):
    # The original tutorial's salarydata-<n>.csv at the bucket root: no header, no year.
    first, second = "1,Ada,6000.00\n2,Bob,5555.00\n", "1,Ada,6100.00\n2,Bob,5555.50\n"
    assert upload("salarydata-1.csv", first)["source"] == "salarydata-1.csv"
    assert upload("salarydata-2.csv", second)["outcome"] == "processed"
    both = {(1, "Ada"): Decimal("12100.00"), (2, "Bob"): Decimal("11110.50")}
    assert totals(aws) == both
    # The same key again changes nothing; another version under the same key replaces what that key contributed.
    assert upload("salarydata-1.csv", first)["employees_changed"] == 0 and totals(aws) == both
    assert upload("salarydata-1.csv", "1,Ada,6000.00\n")["employees_changed"] == 1
    assert totals(aws) == {(1, "Ada"): Decimal("12100.00"), (2, "Bob"): Decimal("5555.50")}
    # A month's file adds by the month's rule; the root files' copies are under processed/.
    assert upload("salaries/2026-01.csv", HEADER_LINE + "1,Ada,1.00\n")["source"] == "2026-01"
    assert totals(aws)[(1, "Ada")] == Decimal("12101.00")
    assert read_object(aws, "processed/processed_salarydata-2.psv").decode() == (
        "EmpID|EmpName|EmpSalary\n1|Ada|6100.00\n2|Bob|5555.50\n"
    )


def test_sources_never_share_a_hash_key_with_each_other_or_with_an_employee():
    Source, hash_key = salaries.Source, salary_store.source_hash_key
    assert hash_key(Source("2026-01", "salaries/2026-01.csv")) == -202601
    months = {hash_key(Source(f"{year:04d}-{month:02d}", "k")) for year in (0, 2026, 9999) for month in (1, 12)}
    keys = {hash_key(Source(None, key)) for key in ("salarydata-1.csv", "salarydata-2.csv", "a/salarydata-1.csv")}
    assert len(keys) == 3 and max(keys) < min(months) and max(months) < 0
    assert hash_key(Source(None, "salarydata-1.csv")) in keys and all(len(str(-key)) <= 38 for key in keys)


def test_a_file_without_a_header_counts_from_its_first_line(aws, upload):
    # EmpName "2026" looks like a number and "EmpID"-like header words are data here: only the header is skipped.
    summary = upload("salaries/2026-10.csv", "1,2026,6000.00\r\n2,Ada,5555\r\n")
    assert (summary["outcome"], summary["rows_counted"]) == ("processed", 2)
    assert totals(aws) == {(1, "2026"): Decimal("6000.00"), (2, "Ada"): Decimal("5555")}
    psv = read_object(aws, summary["processed_key"]).decode()
    assert psv == "EmpID|EmpName|EmpSalary\n1|2026|6000.00\n2|Ada|5555\n"


def test_a_first_line_that_is_neither_header_nor_row_rejects_the_whole_file(aws, upload):
    assert upload("salaries/2026-11.csv", "1,Ada,lots\n2,Bob,5555\n")["outcome"] == "rejected"
    [entry] = report(aws, "salaries/2026-11.csv")
    assert entry["line"] == 1 and "EmpSalary" in entry["reason"] and totals(aws) == {}


@pytest.mark.parametrize(
    "key", ["processed/salaries/processed_2026-01.psv", "salaries/2026-01.txt", "salaries/2026-01.csv.rejected.jsonl"]
)
def test_other_keys_are_ignored(aws, upload, key):
    assert upload(key, HEADER_LINE + "1,Ada,6000.00\n")["outcome"] == "ignored"
    assert totals(aws) == {}


def test_an_event_for_an_object_replaced_since_is_left_to_the_newer_event(aws, upload):
    old_etag = aws.s3.put_object(Bucket=BUCKET, Key="salaries/2026-08.csv", Body=HEADER_LINE + "1,Ada,1.00\n")["ETag"]
    upload("salaries/2026-08.csv", HEADER_LINE + "1,Ada,2.00\n")
    assert upload.deliver("salaries/2026-08.csv", old_etag, 10)["outcome"] == "superseded"
    assert totals(aws) == {(1, "Ada"): Decimal("2.00")}


def test_a_writer_that_read_a_stale_month_retries_instead_of_adding_twice(aws, upload, monkeypatch):
    upload("salaries/2026-09.csv", HEADER_LINE + "1,Ada,6000.00\n2,Bob,5555.00\n")
    store = salary_store.SalaryStore(TABLE)
    real_read, reads = store.contributions, []

    def first_read_is_stale(source) -> dict:
        # The first read misses what the first run wrote, as a run that raced it would.
        reads.append(source)
        return {} if len(reads) == 1 else real_read(source)

    monkeypatch.setattr(store, "contributions", first_read_is_stale)
    monkeypatch.setattr(salary_store.aws, "back_off", lambda attempt: None)
    Employee = salaries.Employee
    changed = store.replace(
        salaries.Source("2026-09", "salaries/2026-09.csv"),
        {Employee(1, "Ada"): Decimal("6000.00"), Employee(2, "Bob"): Decimal("5000.00")},
    )
    assert changed == 1 and len(reads) == 2  # the stale plan was refused, the second one applied
    assert totals(aws) == {(1, "Ada"): Decimal("6000.00"), (2, "Bob"): Decimal("5000.00")}


def test_every_line_of_a_salary_file_carries_its_bucket_and_key_and_its_rows_are_counted(
    upload, log_lines, metric_documents
):
    upload("salaries/2026-03.csv", HEADER_LINE + "1,Ada,6000.00\n2,Bob,lots\n")
    [line] = log_lines()
    assert (line["message"], line["bucket"], line["key"], line["outcome"]) == (
        "salary_file",
        BUCKET,
        "salaries/2026-03.csv",
        "processed",
    )
    [document] = metric_documents()
    assert (document["RowsIngested"], document["RowsRejected"]) == ([1.0], [1.0])
