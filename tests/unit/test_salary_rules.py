"""The salary function's rules, without AWS: keys, month or key as the source, row validation, and how a source's
contributions are replaced."""

from __future__ import annotations

from decimal import Decimal

import pytest

from payproc import salaries as rules

Employee, Change, RowError = rules.Employee, rules.Change, rules.RowError
ADA, BOB, CY = Employee(1, "Ada Lovelace"), Employee(2, "Bob Smith"), Employee(3, "Cy Young")


@pytest.mark.parametrize(
    ("key", "counts"),
    [
        ("salaries/2026-01.csv", True),
        ("salaries/acme/2026-01.csv", True),
        ("other/2026-01.csv", True),
        ("salarydata-1.csv", True),  # the bucket root, where the original tutorial drops its files
        ("processed/salaries/processed_2026-01.psv", False),
        ("processed/processed_salarydata-1.psv", False),
        ("salaries/2026-01.csv.rejected.jsonl", False),
        ("salaries/2026-01.txt", False),
    ],
)
def test_csv_files_anywhere_count_and_the_outputs_never_do(key, counts):
    assert rules.is_salary_file(key) is counts


@pytest.mark.parametrize(
    ("key", "processed"),
    [
        ("salaries/2026-01.csv", "processed/salaries/processed_2026-01.psv"),
        ("salaries/acme/March 2026-03.csv", "processed/salaries/acme/processed_March 2026-03.psv"),
        ("salarydata-1.csv", "processed/processed_salarydata-1.psv"),
    ],
)
def test_the_processed_copy_keeps_the_folders_under_processed_and_is_no_upload(key, processed):
    assert rules.processed_key(key) == processed
    assert not rules.is_salary_file(processed)


@pytest.mark.parametrize(
    ("key", "month"),
    [
        ("salaries/2026-01.csv", "2026-01"),
        ("salaries/payroll 2026-12 corrected.csv", "2026-12"),
        ("salaries/2026-03-31.csv", "2026-03"),
        ("salaries/2026-02/payroll.csv", "2026-02"),  # from the folder when the file name says nothing
        ("salaries/2025-01/2026-04.csv", "2026-04"),  # the file name wins over its folder
        ("salaries/payroll.csv", None),
        ("salaries/2026-13.csv", None),
        ("salaries/12026-011.csv", None),
    ],
)
def test_the_month_comes_from_the_file_name_then_its_folders(key, month):
    assert rules.month_of(key) == month


@pytest.mark.parametrize(
    ("key", "source"),
    [
        ("salaries/2026-01.csv", rules.Source("2026-01", "salaries/2026-01.csv")),
        ("salaries/2026-02/acme.csv", rules.Source("2026-02", "salaries/2026-02/acme.csv")),
        ("salarydata-1.csv", rules.Source(None, "salarydata-1.csv")),
        ("payroll/salarydata-12.csv", rules.Source(None, "payroll/salarydata-12.csv")),
    ],
)
def test_a_file_replaces_its_months_contributions_or_without_a_month_its_keys(key, source):
    assert rules.source_of(key) == source
    assert source.name == (source.month or key)


def row(emp_id: str = "7", name: str = "Ada Lovelace", salary: str = "6000.50") -> dict[str, str]:
    return {"EmpID": emp_id, "EmpName": name, "EmpSalary": salary}


def test_a_good_row_gives_the_employee_and_an_exact_salary():
    expected = (Employee(7, "Lovelace, Ada"), Decimal("6000.50"))
    assert rules.parse_row(row(" 7 ", " Lovelace, Ada ", " 6000.5 ")) == expected
    assert rules.parse_row(row(salary="0")) == (Employee(7, "Ada Lovelace"), Decimal("0"))


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (row(emp_id=""), "missing EmpID"),
        (row(name="  "), "missing EmpName"),
        ({"EmpID": "7"}, "missing EmpName, EmpSalary"),
        (row(emp_id="0"), "EmpID must be a positive whole number"),
        (row(emp_id="-7"), "EmpID must be a positive whole number"),
        (row(emp_id="7.0"), "EmpID must be a positive whole number"),
        (row(emp_id="٧"), "EmpID must be a positive whole number"),  # a digit, but not an ASCII one
        (row(salary="abc"), "EmpSalary must be a non-negative amount"),
        (row(salary="-6000.00"), "EmpSalary must be a non-negative amount"),
        (row(salary="6000.005"), "at most two decimals"),
        (row(salary="6,000.00"), "EmpSalary must be"),
        (row(salary="NaN"), "EmpSalary must be"),
        (row(salary="1e3"), "EmpSalary must be"),
    ],
)
def test_a_bad_row_is_rejected_with_its_reason(bad, reason):
    with pytest.raises(RowError, match=reason):
        rules.parse_row(bad)


def test_a_salary_file_gathers_each_employees_salary_and_rejects_a_second_row_for_the_same_id():
    salary_file = rules.SalaryFile()
    salary_file.add(2, row("1", "Ada Lovelace", "6000.10"))
    salary_file.add(3, row("2", "Bob Smith", "5555.00"))
    with pytest.raises(RowError, match="EmpID 1 is already listed on line 2"):
        salary_file.add(4, row("1", "Ada Lovelace", "1.00"))
    assert salary_file.contributions == {ADA: Decimal("6000.10"), BOB: Decimal("5555.00")}


def test_replacing_a_month_writes_new_and_changed_employees_and_takes_back_dropped_ones():
    previous = {ADA: Decimal("6000.10"), BOB: Decimal("5555.00"), CY: Decimal("7000.00")}
    wanted = {ADA: Decimal("6000.1"), BOB: Decimal("5600.00"), Employee(4, "Di Prince"): Decimal("6100.00")}
    assert rules.plan_changes(previous, wanted) == [
        Change(BOB, Decimal("5555.00"), Decimal("5600.00")),
        Change(CY, Decimal("7000.00"), None),
        Change(Employee(4, "Di Prince"), None, Decimal("6100.00")),
    ]


def test_the_same_month_again_needs_no_write():
    month = {ADA: Decimal("6000.10"), BOB: Decimal("5555.00")}
    assert rules.plan_changes(month, dict(month)) == []


def test_a_change_moves_the_total_by_the_exact_difference():
    assert Change(ADA, Decimal("0.10"), Decimal("0.30")).delta == Decimal("0.20")
    assert Change(ADA, None, Decimal("6000.10")).delta == Decimal("6000.10")
    assert Change(ADA, Decimal("6000.10"), None).delta == Decimal("-6000.10")
