"""A year of monthly salary files: `salaries/<YYYY-MM>.csv` with `EmpID,EmpName,EmpSalary`.

Every month lists the same employees (ids start_id.., the same name each month), so their totals mean something;
only the salary is drawn again each month. Each month draws from its own generator, so one month can be
regenerated alone and still match.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from seed.money import random_amount
from seed.people import NameSampler

HEADER = ("EmpID", "EmpName", "EmpSalary")
PREFIX = "salaries"
MIN_SALARY = Decimal("5555.00")
MAX_SALARY = Decimal("7777.00")

Employee = tuple[int, str]
SalaryRow = tuple[int, str, Decimal]


@dataclass(frozen=True)
class SalariesSpec:
    year: int
    employees: int = 100
    months: int = 12
    start_id: int = 1
    seed: int | str | None = None


def month_key(year: int, month: int) -> str:
    return f"{PREFIX}/{year:04d}-{month:02d}.csv"


def _generator(seed: int | str | None, purpose: str) -> random.Random:
    # A string seed is hashed with SHA-512 by `random`, so it is stable across runs and Python processes.
    return random.Random(None if seed is None else f"{seed}:{purpose}")


def employees(spec: SalariesSpec, sampler: NameSampler) -> list[Employee]:
    if spec.employees < 0 or spec.start_id < 1 or not 1 <= spec.months <= 12:
        raise ValueError("employees must be >= 0, start_id >= 1 and months within 1..12")
    rng = _generator(spec.seed, "employees")
    return [(emp_id, sampler.full_name(rng)) for emp_id in range(spec.start_id, spec.start_id + spec.employees)]


def month_rows(spec: SalariesSpec, staff: list[Employee], month: int) -> list[SalaryRow]:
    rng = _generator(spec.seed, f"salaries:{spec.year:04d}-{month:02d}")
    return [(emp_id, name, random_amount(rng, MIN_SALARY, MAX_SALARY)) for emp_id, name in staff]


def year_of_rows(spec: SalariesSpec, sampler: NameSampler | None = None) -> dict[str, list[SalaryRow]]:
    """Every month's rows by object key, in month order."""
    staff = employees(spec, sampler or NameSampler())
    return {month_key(spec.year, month): month_rows(spec, staff, month) for month in range(1, spec.months + 1)}


def salary_csv(rows: list[SalaryRow]) -> str:
    """One month's file as text (header first)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return text.getvalue()


def write_salaries(spec: SalariesSpec, out_dir: Path, sampler: NameSampler | None = None) -> list[Path]:
    """Write every month under out_dir; return the paths in month order."""
    paths = []
    for key, rows in year_of_rows(spec, sampler).items():
        path = out_dir / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(salary_csv(rows), encoding="utf-8")
        paths.append(path)
    return paths
