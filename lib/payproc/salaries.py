"""The rules of a salary file, as plain functions (no AWS): which keys count, where the outputs go, whose
contributions a file replaces (its month's, or its own), which rows are good, and how new contributions replace the
previous ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import PurePosixPath

from payproc.money import MoneyError, parse_money

HEADER = ("EmpID", "EmpName", "EmpSalary")
PROCESSED_PREFIX = "processed/"
PROCESSED_NAME_PREFIX = "processed_"
# A year and month not glued to other digits: "2026-01" in "2026-01.csv" or "payroll 2026-01 fixed.csv".
MONTH_PATTERN = re.compile(r"(?<!\d)(\d{4})-(0[1-9]|1[0-2])(?!\d)")
MAX_EMP_ID_DIGITS = 15  # far above any payroll, well inside DynamoDB's 38-digit numbers


class RowError(ValueError):
    """Why one row of the file is rejected."""


@dataclass(frozen=True, order=True)
class Employee:
    """An employee's key in the EmployeeSalary table (EmpID + EmpName, as the contract's table defines it)."""

    emp_id: int
    emp_name: str


@dataclass(frozen=True)
class Source:
    """Whose contributions a file's good rows replace. With a month (YYYY-MM) in its key, the month's: a month is the
    whole payroll, so another file of that month replaces it too. Without one, the object key's own: a re-upload of
    the key replaces it, a file under another key adds to the totals (the original tutorial's salarydata-1.csv ...
    salarydata-12.csv name no year)."""

    month: str | None
    key: str

    @property
    def name(self) -> str:
        """The month, or the key when there is none (for logs and summaries)."""
        return self.month or self.key


def source_of(key: str) -> Source:
    """The source of an uploaded file's contributions: its month when the key names one, else the key itself."""
    return Source(month_of(key), key)


@dataclass(frozen=True)
class Change:
    """How one employee's contribution of a source moves; None means "no contribution"."""

    employee: Employee
    old: Decimal | None
    new: Decimal | None

    @property
    def delta(self) -> Decimal:
        return (self.new or Decimal(0)) - (self.old or Decimal(0))


def is_salary_file(key: str) -> bool:
    """A .csv anywhere in the bucket is processed; the outputs (.psv copies, .rejected.jsonl reports) never are."""
    return key.endswith(".csv")


def processed_key(key: str) -> str:
    """salaries/2026-01.csv -> processed/salaries/processed_2026-01.psv (the same folders, under processed/)."""
    path = PurePosixPath(key)
    return f"{PROCESSED_PREFIX}{path.with_name(PROCESSED_NAME_PREFIX + path.stem + '.psv')}"


def month_of(key: str) -> str | None:
    """The month (YYYY-MM) a file is for: from its file name, else from its folders; None when neither says."""
    path = PurePosixPath(key)
    for part in (path.name, *reversed(path.parent.parts)):
        if found := MONTH_PATTERN.search(part):
            return f"{found.group(1)}-{found.group(2)}"
    return None


def parse_row(row: dict[str, str]) -> tuple[Employee, Decimal]:
    """The employee and salary of a row; raise RowError with the reason for a bad row."""
    emp_id_text = (row.get("EmpID") or "").strip()
    name = (row.get("EmpName") or "").strip()
    salary_text = (row.get("EmpSalary") or "").strip()
    missing = [column for column, value in zip(HEADER, (emp_id_text, name, salary_text)) if not value]
    if missing:
        raise RowError(f"missing {', '.join(missing)}")
    if not emp_id_text.isascii() or not emp_id_text.isdigit() or len(emp_id_text) > MAX_EMP_ID_DIGITS:
        raise RowError(f"EmpID must be a positive whole number, got {emp_id_text!r}")
    emp_id = int(emp_id_text)
    if emp_id == 0:
        raise RowError("EmpID must be a positive whole number, got 0")
    try:
        salary = parse_money(salary_text)
    except MoneyError as error:
        raise RowError(f"EmpSalary {error}, got {salary_text!r}") from None
    return Employee(emp_id, name), salary


@dataclass
class SalaryFile:
    """The good rows of one file, gathered row by row: each employee's contribution."""

    contributions: dict[Employee, Decimal] = field(default_factory=dict)
    _line_of_id: dict[int, int] = field(default_factory=dict)

    def add(self, line: int, row: dict[str, str]) -> None:
        """Count a row, or raise RowError. An EmpID listed twice is rejected rather than summed: in a payroll file a
        second row is far more likely a paste error than a second salary."""
        employee, salary = parse_row(row)
        if (first_line := self._line_of_id.get(employee.emp_id)) is not None:
            raise RowError(f"EmpID {employee.emp_id} is already listed on line {first_line}")
        self._line_of_id[employee.emp_id] = line
        self.contributions[employee] = salary


def plan_changes(previous: dict[Employee, Decimal], wanted: dict[Employee, Decimal]) -> list[Change]:
    """What to write so a source's contributions become `wanted`: new and changed employees, and employees of the
    previous version that the new file no longer lists (their contribution is taken back). Equal ones need nothing,
    which is what makes a re-delivered event or a re-uploaded file a no-op."""
    changes = [Change(employee, previous.get(employee), salary) for employee, salary in wanted.items()]
    changes += [Change(employee, salary, None) for employee, salary in previous.items() if employee not in wanted]
    return sorted((change for change in changes if change.old != change.new), key=lambda change: change.employee)
