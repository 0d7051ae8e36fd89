"""The bills-due generator: header, row count, money format, ids, paid rows, determinism, file name."""

from __future__ import annotations

import csv
import random
from datetime import date
from decimal import Decimal
from pathlib import Path

import names
import pytest

from seed.bills import HEADER, BillsSpec, bill_rows, write_bills
from seed.cli import main
from seed.people import NameSampler


@pytest.fixture(scope="module")
def sampler() -> NameSampler:
    return NameSampler()


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


def test_sampler_draws_exactly_what_the_names_package_draws_from_the_same_generator_state(sampler):
    random.seed(2026)
    from_names_package = [names.get_full_name() for _ in range(200)]
    rng = random.Random(2026)
    assert [sampler.full_name(rng) for _ in range(200)] == from_names_package
    random.seed(2027)
    of_a_gender = [names.get_full_name(gender=("male", "female")[n % 2]) for n in range(200)]
    rng = random.Random(2027)
    assert [sampler.full_name(rng, ("male", "female")[n % 2]) for n in range(200)] == of_a_gender


def test_file_has_the_header_the_row_count_and_the_day_in_its_name(tmp_path, sampler):
    path = write_bills(BillsSpec(rows=250, day=date(2026, 11, 23), seed=1), tmp_path, sampler)
    assert path == tmp_path / "bills-due" / "2026-11-23.csv"
    rows = read_csv(path)
    assert tuple(rows[0]) == HEADER
    assert len(rows) == 251


def test_default_day_is_today():
    before = date.today()
    key = BillsSpec().key()
    after = date.today()  # the day may turn while the test runs: either side of midnight is right
    assert key in {f"bills-due/{day.isoformat()}.csv" for day in (before, after)}


def test_balances_are_money_with_two_decimals_within_the_range(tmp_path, sampler):
    spec = BillsSpec(rows=500, day=date(2026, 11, 23), seed=3, min_balance=Decimal("5.00"), max_balance=Decimal("9.99"))
    for _id, _name, balance, processed in read_csv(write_bills(spec, tmp_path, sampler))[1:]:
        assert Decimal(balance).as_tuple().exponent == -2, balance
        assert Decimal("5.00") <= Decimal(balance) <= Decimal("9.99")
        assert processed == "0"


def test_ids_are_consecutive_from_start_id_and_names_are_not_empty(sampler):
    rows = list(bill_rows(BillsSpec(rows=100, start_id=5_000, seed=4), sampler))
    assert [row[0] for row in rows] == list(range(5_000, 5_100))
    assert all(row[1].count(" ") == 1 and row[1].strip() == row[1] for row in rows)


def test_paid_fraction_marks_about_that_share_paid_with_nothing_owed(sampler):
    rows = list(bill_rows(BillsSpec(rows=2_000, paid_fraction=0.25, seed=5), sampler))
    paid = [row for row in rows if row[3] == 1]
    assert 400 < len(paid) < 600
    assert all(row[2] == Decimal("0.00") for row in paid)
    assert all(row[2] > 0 for row in rows if row[3] == 0)


def test_same_seed_same_file_other_seed_other_file(tmp_path, sampler):
    def generate(seed: int, folder: str) -> bytes:
        spec = BillsSpec(rows=300, day=date(2026, 1, 1), seed=seed)
        return write_bills(spec, tmp_path / folder, sampler).read_bytes()

    assert generate(11, "a") == generate(11, "b")
    assert generate(11, "a") != generate(12, "c")


def test_global_random_state_does_not_change_the_output(sampler):
    random.seed(1)
    first = list(bill_rows(BillsSpec(rows=50, seed=9), sampler))
    random.seed(2)
    assert list(bill_rows(BillsSpec(rows=50, seed=9), sampler)) == first


def test_cli_writes_the_file_into_the_output_folder(tmp_path, capsys):
    assert (
        main(
            [
                "bills",
                "--rows",
                "20",
                "--seed",
                "7",
                "--date",
                "2026-11-23",
                "--start-id",
                "100",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    path = tmp_path / "bills-due" / "2026-11-23.csv"
    assert capsys.readouterr().out.strip() == str(path)
    rows = read_csv(path)
    assert len(rows) == 21 and rows[1][0] == "100"
