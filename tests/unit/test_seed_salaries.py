"""The salary generator: header, months, stable employees across months, salary range, determinism."""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal

import boto3
import pytest

from seed.cli import main
from seed.people import NameSampler
from seed.salaries import HEADER, SalariesSpec, salary_csv, write_salaries, year_of_rows
from tests.helpers.handlers import mocked_aws


@pytest.fixture(scope="module")
def sampler() -> NameSampler:
    return NameSampler()


def read_csv(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


def test_twelve_monthly_files_for_a_hundred_employees_by_default(tmp_path, sampler):
    paths = write_salaries(SalariesSpec(year=2026, seed=1), tmp_path, sampler)
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == [f"salaries/2026-{m:02d}.csv" for m in range(1, 13)]
    for path in paths:
        rows = read_csv(path)
        assert tuple(rows[0]) == HEADER == ("EmpID", "EmpName", "EmpSalary")
        assert len(rows) == 101


def test_an_employee_keeps_id_and_name_every_month_and_ids_run_from_start_id(sampler):
    months = year_of_rows(SalariesSpec(year=2026, employees=30, start_id=1, seed=2), sampler)
    staff = [[(emp_id, name) for emp_id, name, _ in rows] for rows in months.values()]
    assert all(month == staff[0] for month in staff)
    assert [emp_id for emp_id, _ in staff[0]] == list(range(1, 31))
    # The original design's month+row ids collided (month 1 row 11 == month 11 row 1); ours are unique.
    assert len({emp_id for emp_id, _ in staff[0]}) == 30


def test_salaries_are_two_decimal_amounts_between_5555_and_7777_and_vary_by_month(sampler):
    months = year_of_rows(SalariesSpec(year=2026, employees=200, seed=3), sampler)
    salaries = [salary for rows in months.values() for _, _, salary in rows]
    assert all(Decimal("5555") <= s <= Decimal("7777") and s.as_tuple().exponent == -2 for s in salaries)
    assert len(set(salaries)) > 1_000


def test_same_seed_same_files_and_one_month_can_be_regenerated_alone(sampler):
    year = year_of_rows(SalariesSpec(year=2026, employees=20, seed="payroll"), sampler)
    assert year == year_of_rows(SalariesSpec(year=2026, employees=20, seed="payroll"), sampler)
    march_only = year_of_rows(SalariesSpec(year=2026, employees=20, months=3, seed="payroll"), sampler)
    assert march_only["salaries/2026-03.csv"] == year["salaries/2026-03.csv"]
    assert year != year_of_rows(SalariesSpec(year=2026, employees=20, seed="other"), sampler)


def test_start_id_shifts_ids_only(sampler):
    base = year_of_rows(SalariesSpec(year=2026, employees=5, months=1, seed=4), sampler)["salaries/2026-01.csv"]
    shifted = year_of_rows(SalariesSpec(year=2026, employees=5, months=1, start_id=1_001, seed=4), sampler)
    assert [(i + 1_000, n, s) for i, n, s in base] == shifted["salaries/2026-01.csv"]


def test_salary_csv_quotes_names_with_commas():
    text = salary_csv([(1, "Lovelace, Ada", Decimal("6000.10"))])
    assert text == 'EmpID,EmpName,EmpSalary\n1,"Lovelace, Ada",6000.10\n'


@mocked_aws()
def test_cli_uploads_every_month_under_its_key(tmp_path, monkeypatch, capsys):
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="salary-files")
    assert (
        main(
            [
                "salaries",
                "--employees",
                "3",
                "--months",
                "2",
                "--year",
                "2026",
                "--seed",
                "5",
                "--out",
                str(tmp_path),
                "--upload",
                "salary-files",
            ]
        )
        == 0
    )
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="salary-files")["Contents"]]
    assert keys == ["salaries/2026-01.csv", "salaries/2026-02.csv"]
    body = s3.get_object(Bucket="salary-files", Key="salaries/2026-01.csv")["Body"].read()
    assert body == (tmp_path / "salaries" / "2026-01.csv").read_bytes()


@mocked_aws()
def test_demo_uploads_a_day_of_bills_and_a_year_of_salaries_to_the_deployed_buckets(tmp_path, monkeypatch):
    s3 = boto3.client("s3", region_name="us-east-1")
    for bucket in ("demo-bills-due", "demo-salary-files"):
        s3.create_bucket(Bucket=bucket)
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"bills_bucket": "demo-bills-due", "salary_bucket": "demo-salary-files"}))
    before = date.today()
    assert main(["demo", "--seed", "1", "--out", str(tmp_path / "seed"), "--outputs", str(outputs)]) == 0
    after = date.today()  # the day may turn while the test runs: either side of midnight is right
    [bills] = [o["Key"] for o in s3.list_objects_v2(Bucket="demo-bills-due")["Contents"]]
    assert bills in {f"bills-due/{day.isoformat()}.csv" for day in (before, after)}
    assert len(s3.list_objects_v2(Bucket="demo-salary-files")["Contents"]) == 12
