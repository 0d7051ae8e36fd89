"""S3 `*.csv` upload -> pipe-separated copy in processed/ and the file's salaries in EmployeeSalary, replacing
what its month (or, without a month in its key, its earlier upload) contributed.

The rules are in salary_rules.py, the table in salary_ledger.py; this file moves bytes between them and S3.
"""

from __future__ import annotations

import csv
import functools
import io
import tempfile
from contextlib import closing
from typing import IO, Any

import boto3
from botocore.exceptions import ClientError

from payproc.config import get_settings
from payproc.s3csv import (
    UTF8_BOM,
    CsvRowReader,
    HeaderError,
    ReadableBytes,
    RejectedRows,
    S3ObjectRef,
    object_from_record,
    open_object,
    report_key,
)
from payproc.telemetry import ROWS_INGESTED, ROWS_REJECTED, count, instrumented, logger
from salary_ledger import SalaryLedger
from salary_rules import HEADER, RowError, SalaryFile, is_salary_file, parse_row, processed_key, source_of

PSV_CONTENT_TYPE = "text/plain; charset=utf-8"
PSV_SPOOL_BYTES = 8 * 1024 * 1024  # a larger copy spills to /tmp instead of memory


class EmptyFileError(HeaderError):
    """The object holds nothing (at most a BOM): a no-op, not a wrong header."""


@functools.cache
def _clients() -> tuple[Any, SalaryLedger]:
    # Created once per container: the environment and endpoint never change during its life.
    return boto3.client("s3"), SalaryLedger(boto3.client("dynamodb"), get_settings().require("salary_table"))


@instrumented
def handler(event: dict[str, Any], context: Any) -> list[dict[str, Any]]:
    s3, ledger = _clients()
    summaries = []
    for record in event.get("Records", []):
        ref = object_from_record(record)
        # Every line logged for this file, payproc's and the ledger's included, says which file it is.
        with logger.append_context_keys(bucket=ref.bucket, key=ref.key):
            summary = process_file(s3, ledger, ref)
            # Counted once the file is done, so a failed attempt that S3 retries does not count its rows twice.
            count(ROWS_INGESTED, summary.get("rows_counted", 0))
            count(ROWS_REJECTED, summary.get("rows_rejected", 0))
            logger.info("salary_file", **summary)
        summaries.append(summary)
    return summaries


def process_file(s3: Any, ledger: SalaryLedger, ref: S3ObjectRef) -> dict[str, Any]:
    """Process one uploaded object; return a summary of what happened (the handler logs and counts it)."""
    summary: dict[str, Any] = {"key": ref.key}
    if not is_salary_file(ref.key):
        return summary | {"outcome": "ignored", "why": "not a .csv"}
    source = source_of(ref.key)
    summary["source"] = source.name
    try:
        body = open_object(s3, ref)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("PreconditionFailed", "412"):
            raise
        # The object was replaced after this event; the newer upload's own event processes it.
        return summary | {"outcome": "superseded", "why": "the object changed since this event"}

    with closing(RejectedRows()) as rejects, tempfile.SpooledTemporaryFile(max_size=PSV_SPOOL_BYTES) as psv_file:
        try:
            salary_file = read_salaries(body, rejects, psv_file)
        except EmptyFileError:
            return summary | {"outcome": "no-op", "why": "empty file"}
        except HeaderError as error:
            return summary | _report_whole_file(s3, ref, str(error))

        summary |= {"rows_counted": len(salary_file.contributions), "rows_rejected": rejects.count}
        if not salary_file.contributions and not rejects.count:
            return summary | {"outcome": "no-op", "why": "header only"}
        # Written even when empty: it replaces the report an earlier version of this file may have left.
        rejects.upload(s3, ref.bucket, report_key(ref.key))
        if not salary_file.contributions:
            # Replacing the contributions with nothing because every row is broken would wipe a good month.
            return summary | {"outcome": "rejected", "why": "no good rows; the contributions are left as they were"}
        changed = ledger.replace(source, salary_file.contributions)
        # The copy goes last, so its appearance in processed/ means the whole file is done.
        psv_file.seek(0)
        s3.put_object(Bucket=ref.bucket, Key=processed_key(ref.key), Body=psv_file, ContentType=PSV_CONTENT_TYPE)
    return summary | {"outcome": "processed", "employees_changed": changed, "processed_key": processed_key(ref.key)}


def read_salaries(body: ReadableBytes, rejects: RejectedRows, psv_file: IO[bytes]) -> SalaryFile:
    """Read every row: good ones count and go to the pipe-separated copy, bad ones to rejects."""
    salary_file = SalaryFile()
    reader = CsvRowReader(body, HEADER, rejects, parse_row)
    psv_text = io.TextIOWrapper(psv_file, encoding="utf-8", newline="", write_through=True)
    # QUOTE_MINIMAL quotes a value holding '|' (or a quote or line break), so it reads back as one field.
    psv = csv.writer(psv_text, delimiter="|", lineterminator="\n")
    try:
        psv.writerow(HEADER)
        for line, row in reader:
            try:
                salary_file.add(line, row)
            except RowError as error:
                rejects.add(line, row, str(error))
            else:
                psv.writerow([row[column] for column in HEADER])  # as written in the file, not reformatted
    except HeaderError as error:
        # payproc.s3csv raises one HeaderError for an empty file and a bad first line; only an empty file leaves
        # the reader at offset 0 (or just past a BOM).
        if reader.offset <= len(UTF8_BOM):
            raise EmptyFileError(str(error)) from None
        raise
    finally:
        psv_text.detach()  # hand the bytes back to the caller without closing them
    return salary_file


def _report_whole_file(s3: Any, ref: S3ObjectRef, reason: str) -> dict[str, Any]:
    """Report a first line that is neither header nor row as the file's one rejected row (line 1); return the
    summary's outcome."""
    with closing(RejectedRows()) as rejects:
        rejects.add(1, [], reason)
        rejects.upload(s3, ref.bucket, report_key(ref.key))
    return {"outcome": "rejected", "why": reason, "rows_rejected": 1}
