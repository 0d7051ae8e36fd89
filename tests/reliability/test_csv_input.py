"""Bad bills-due files uploaded to the bills bucket (docs/ingestion.md): every good row is stored, every bad row is in
`<key>.rejected.jsonl` with its line, nothing crashes and no row is lost (each line is either stored or reported)."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pytest

from tests.helpers.reliability import balance_item
from tests.helpers.stack import unique_invoice_id, wait_for

HEADER = b"InvoiceID,CustomerName,Balance,IsProcessed"


def upload(aws, deployment, key: str, data: bytes) -> None:
    aws.client("s3").put_object(Bucket=deployment["bills_bucket"], Key=key, Body=data)


def rejected_report(aws, deployment, key: str, timeout: float = 60) -> list[dict]:
    """The rejected-rows report of an upload, once written (it is written when the file completes, even if empty)."""
    s3 = aws.client("s3")

    def read():
        try:
            return [s3.get_object(Bucket=deployment["bills_bucket"], Key=key + ".rejected.jsonl")["Body"].read()]
        except s3.exceptions.NoSuchKey:
            return None

    body = wait_for(read, timeout=timeout)[0]
    return [json.loads(line) for line in body.decode().splitlines() if line.strip()]


def test_a_file_with_every_kind_of_bad_row_stores_the_good_ones_and_reports_the_rest(aws, deployment, figures):
    base = unique_invoice_id()
    good = {
        base + n: (name, balance)
        for n, (name, balance) in enumerate(
            [
                ("Zoë Ångström", "10.50"),
                ('Quoted, "Comma" Name', "0"),
                ("Multi\nLine Name", "7.25"),
                ("李雷", "999999999999.99"),
                ("Robert'); DROP TABLE Bills;--", "1.00"),
                ("After The Big Row", "3.30"),
            ]
        )
    }
    ids = list(good)

    def row(invoice_id) -> bytes:
        name, balance = good[invoice_id]
        return f'{invoice_id},"{name.replace(chr(34), chr(34) * 2)}",{balance},0'.encode()

    bad = base + 50  # never stored: every row naming it is bad
    lines = [
        b"\xef\xbb\xbf" + HEADER,  # 1 BOM
        row(ids[0]),  # 2
        f"{bad},Too,Many,Columns,0".encode(),  # 3 wrong column count
        f"{bad},Too Few".encode(),  # 4 wrong column count
        row(ids[1]),  # 5
        f"{bad},Bad \xff\xfe Bytes,1.00,0".encode("latin-1"),  # 6 not UTF-8
        f"{bad},Three Decimals,1.005,0".encode(),  # 7
        f"{bad},Negative,-1.00,0".encode(),  # 8
        f"{bad},Not A Number,NaN,0".encode(),  # 9
        f"{bad},Exponent,1e3,0".encode(),  # 10
        f"{bad},Bad Flag,1.00,2".encode(),  # 11
        b"0,Zero Id,1.00,0",  # 12
        b"1 OR 1=1,Injected Id,1.00,0",  # 13
        f"{bad},,1.00,0".encode(),  # 14 empty name
    ]
    lines += [
        row(ids[2]),  # 15-16 (a quoted name with a line break)
        row(ids[3]),  # 17
        row(ids[4]),  # 18
        f"{bad},{'x' * 2**20},1.00,0".encode(),  # 19 a 1 MB field
        row(ids[5]),  # 20
        f'{bad},"Unclosed quote,1.00,0'.encode(),  # 21 unreadable CSV: the quote runs to the end of the file
        b"",
    ]
    data = b"\r\n".join(lines)  # CRLF line ends, a trailing empty line
    key = f"bills-due/reliability-bad-rows-{uuid.uuid4().hex[:8]}.csv"
    upload(aws, deployment, key, data)

    report = rejected_report(aws, deployment, key)
    stored = {i: balance_item(aws, deployment, i) for i in ids + [bad]}
    figures.add("inputs:csv_rows", len(lines) - 2)
    figures.check(
        "csv_bad_rows", {"rows": len(lines) - 2, "stored": sum(1 for i in ids if stored[i]), "rejected": len(report)}
    )

    assert stored[bad] is None
    for invoice_id in ids:
        name, balance = good[invoice_id]
        assert stored[invoice_id] is not None, f"good row {name!r} was lost; report: {report}"
        assert stored[invoice_id]["CustomerName"] == name
        assert stored[invoice_id]["Balance"] == Decimal(balance)
    reported_lines = [entry["line"] for entry in report]
    # Nothing lost: each bad line is reported once, every other line is a stored row.
    assert reported_lines == [3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 19, 21], report
    assert all(entry["reason"] for entry in report)
    big = report[reported_lines.index(19)]
    assert "longer than" in big["reason"] and len(json.dumps(big)) < 10_000  # not a megabyte copied into the report


@pytest.mark.parametrize(
    "name, data, rejected",
    [
        ("empty", b"", 1),  # no first line: the whole file is rejected, line 1
        ("header only", HEADER + b"\n", 0),
        ("header only with BOM and CRLF", b"\xef\xbb\xbf" + HEADER + b"\r\n", 0),
        ("wrong header", b"Id,Name,Amount,Paid\n1,A,1.00,0\n", 1),
        ("binary", bytes(range(256)) * 4, 1),
    ],
)
def test_an_empty_or_headless_file_is_reported_and_crashes_nothing(aws, deployment, figures, name, data, rejected):
    key = f"bills-due/reliability-{name.replace(' ', '-')}-{uuid.uuid4().hex[:8]}.csv"
    upload(aws, deployment, key, data)
    report = rejected_report(aws, deployment, key)
    figures.add("inputs:csv_files")
    assert len(report) == rejected, report
    if rejected:
        assert report[0]["line"] == 1 and report[0]["reason"]
