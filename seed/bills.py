"""A day's bills-due file: `bills-due/<YYYY-MM-DD>.csv` with `InvoiceID,CustomerName,Balance,IsProcessed`.

Rows are streamed to the file one at a time, so a million rows need no more memory than ten.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from tqdm import tqdm

from seed.money import random_amount
from seed.people import NameSampler

HEADER = ("InvoiceID", "CustomerName", "Balance", "IsProcessed")
PREFIX = "bills-due"
PAID_BALANCE = Decimal("0.00")  # a paid bill owes nothing
# Below this many rows a progress bar is noise.
PROGRESS_BAR_FROM_ROWS = 10_000


@dataclass(frozen=True)
class BillsSpec:
    rows: int = 1_000
    day: date | None = None  # None: today
    start_id: int = 1
    paid_fraction: float = 0.0
    min_balance: Decimal = Decimal("1.00")
    max_balance: Decimal = Decimal("2500.00")
    seed: int | str | None = None

    def key(self) -> str:
        """The object key (and path under the output folder): the file name carries the day."""
        return f"{PREFIX}/{(self.day or date.today()).isoformat()}.csv"


def bill_rows(spec: BillsSpec, sampler: NameSampler) -> Iterator[tuple[int, str, Decimal, int]]:
    """The data rows, lazily; the same spec (with a seed) always yields the same rows."""
    if spec.rows < 0 or spec.start_id < 1 or not 0 <= spec.paid_fraction <= 1:
        raise ValueError("rows must be >= 0, start_id >= 1 and paid_fraction within 0..1")
    rng = random.Random(spec.seed)
    for invoice_id in range(spec.start_id, spec.start_id + spec.rows):
        name = sampler.full_name(rng)
        is_paid = rng.random() < spec.paid_fraction
        balance = PAID_BALANCE if is_paid else random_amount(rng, spec.min_balance, spec.max_balance)
        yield invoice_id, name, balance, int(is_paid)


def write_bills(spec: BillsSpec, out_dir: Path, sampler: NameSampler | None = None) -> Path:
    """Write the day's file under out_dir and return its path."""
    path = out_dir / spec.key()
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = bill_rows(spec, sampler or NameSampler())
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(HEADER)
        progress = tqdm(
            total=spec.rows, unit="row", unit_scale=True, desc=path.name, disable=spec.rows < PROGRESS_BAR_FROM_ROWS
        )
        with progress:
            for count, row in enumerate(rows, start=1):
                writer.writerow(row)
                if count % 1_000 == 0:  # update in blocks: a call per row would cost more than the row
                    progress.update(1_000)
            progress.update(spec.rows - progress.n)
    return path
