"""`python -m seed bills|salaries|demo`: generate the files into an output folder and optionally upload them.

    python -m seed bills --rows 1000000 --seed 7 --date 2026-11-23 --upload my-bills-bucket
    python -m seed salaries --employees 100 --months 12 --year 2026 --seed 7 --upload my-salary-bucket
    python -m seed demo            # both, uploaded to the buckets in build/outputs.json (what `make seed` runs)

Uploads use boto3's own configuration, so AWS_ENDPOINT_URL points them at the local stack.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

from seed.bills import BillsSpec, write_bills
from seed.salaries import SalariesSpec, write_salaries

log = logging.getLogger("seed")

DEFAULT_OUT = Path("build/seed")
DEFAULT_OUTPUTS = Path("build/outputs.json")
# Terraform output names of the two data buckets (see terraform/outputs.tf).
BILLS_BUCKET_OUTPUT = "bills_bucket"
SALARY_BUCKET_OUTPUT = "salary_bucket"


def upload(paths: list[Path], out_dir: Path, bucket: str) -> None:
    """Upload each file under the key it has below out_dir (bills-due/..., salaries/...)."""
    import boto3  # only needed when uploading

    s3 = boto3.client("s3")
    for path in paths:
        key = path.relative_to(out_dir).as_posix()
        s3.upload_file(str(path), bucket, key)
        log.info("uploaded s3://%s/%s", bucket, key)


def _resolved_seed(seed: str | None) -> str:
    # Without --seed a run is still reproducible: the seed it drew is logged.
    if seed is None:
        seed = str(random.SystemRandom().randrange(2**32))
        log.info("no --seed given; using --seed %s", seed)
    return seed


def _seed_value(seed: str) -> int | str:
    return int(seed) if seed.lstrip("-").isdigit() else seed


def run_bills(args: argparse.Namespace) -> list[Path]:
    spec = BillsSpec(
        rows=args.rows,
        day=args.date,
        start_id=args.start_id,
        paid_fraction=args.paid_fraction,
        min_balance=args.min_balance,
        max_balance=args.max_balance,
        seed=_seed_value(_resolved_seed(args.seed)),
    )
    started = time.perf_counter()
    path = write_bills(spec, args.out)
    log.info("wrote %s rows to %s in %.1f s", f"{spec.rows:,}", path, time.perf_counter() - started)
    return [path]


def run_salaries(args: argparse.Namespace) -> list[Path]:
    spec = SalariesSpec(
        year=args.year,
        employees=args.employees,
        months=args.months,
        start_id=args.start_id,
        seed=_seed_value(_resolved_seed(args.seed)),
    )
    paths = write_salaries(spec, args.out)
    log.info("wrote %d monthly files for %d employees under %s", len(paths), spec.employees, args.out / "salaries")
    return paths


def run_demo(args: argparse.Namespace) -> None:
    """A day of bills and a year of salaries, uploaded to the deployed buckets."""
    outputs = json.loads(args.outputs.read_text())
    common = dict(out=args.out, seed=args.seed, start_id=1)
    bills = argparse.Namespace(
        **common, rows=1_000, date=None, paid_fraction=0.0, min_balance=Decimal("1.00"), max_balance=Decimal("2500.00")
    )
    upload(run_bills(bills), args.out, outputs[BILLS_BUCKET_OUTPUT])
    salaries = argparse.Namespace(**common, year=date.today().year, employees=100, months=12)
    upload(run_salaries(salaries), args.out, outputs[SALARY_BUCKET_OUTPUT])


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m seed", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = root.add_subparsers(dest="command", required=True)

    def common(command: argparse.ArgumentParser) -> None:
        command.add_argument("--seed", help="same seed, same files (default: a random seed, logged)")
        command.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
        command.add_argument("--start-id", type=int, default=1, help="first id (default 1)")

    bills = commands.add_parser("bills", help="a day's bills-due file")
    common(bills)
    bills.add_argument("--rows", type=int, default=1_000, help="data rows (default 1,000)")
    bills.add_argument("--date", type=date.fromisoformat, help="the day in the file name, YYYY-MM-DD (default today)")
    bills.add_argument("--paid-fraction", type=float, default=0.0, help="share of rows already paid (IsProcessed=1)")
    bills.add_argument("--min-balance", type=Decimal, default=Decimal("1.00"))
    bills.add_argument("--max-balance", type=Decimal, default=Decimal("2500.00"))
    bills.add_argument("--upload", metavar="BUCKET", help="upload the file to this bucket")

    salaries = commands.add_parser("salaries", help="monthly salary files")
    common(salaries)
    salaries.add_argument("--employees", type=int, default=100, help="employees per file (default 100)")
    salaries.add_argument("--months", type=int, default=12, help="months from January (default 12)")
    salaries.add_argument("--year", type=int, default=date.today().year, help="the year (default this year)")
    salaries.add_argument("--upload", metavar="BUCKET", help="upload the files to this bucket")

    demo = commands.add_parser("demo", help="both, uploaded to the buckets named in the Terraform outputs")
    demo.add_argument("--seed")
    demo.add_argument("--out", type=Path, default=DEFAULT_OUT)
    demo.add_argument(
        "--outputs", type=Path, default=DEFAULT_OUTPUTS, help=f"Terraform outputs (default {DEFAULT_OUTPUTS})"
    )
    return root


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("botocore").setLevel(logging.WARNING)  # its INFO lines (credentials found, ...) are noise here
    args = parser().parse_args(argv)
    if args.command == "demo":
        run_demo(args)
        return 0
    paths = run_bills(args) if args.command == "bills" else run_salaries(args)
    if args.upload:
        upload(paths, args.out, args.upload)
    for path in paths:
        print(path)
    return 0
