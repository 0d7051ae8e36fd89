"""One salary file: its good rows replace what its source (month, or key) contributed to the EmployeeSalary table,
a pipe-separated copy goes to processed/, and its bad rows to a report beside it (rules: payproc.salaries, table:
payproc.salary_store, docs/salaries.md)."""

from __future__ import annotations

import csv
import io
import tempfile
from contextlib import closing
from typing import IO, Any

from payproc import aws
from payproc.s3csv import (
    CsvRowReader,
    HeaderError,
    ObjectGone,
    ReadableBytes,
    RejectedRows,
    S3ObjectRef,
    open_object,
    report_key,
)
from payproc.salaries import HEADER, RowError, SalaryFile, is_salary_file, parse_row, processed_key, source_of
from payproc.salary_store import SalaryStore

PSV_CONTENT_TYPE = "text/plain; charset=utf-8"
PSV_SPOOL_BYTES = 8 * 1024 * 1024  # a larger copy spills to /tmp instead of memory


def process_file(store: SalaryStore, ref: S3ObjectRef) -> dict[str, Any]:
    """Process one uploaded object; return a summary of what happened (the handler logs and counts it)."""
    summary: dict[str, Any] = {"key": ref.key}
    if not is_salary_file(ref.key):
        return summary | {"outcome": "ignored", "why": "not a .csv"}
    source = source_of(ref.key)
    summary["source"] = source.name
    s3 = aws.client("s3")
    try:
        body = open_object(s3, ref)
    except ObjectGone:
        return summary | {"outcome": "superseded", "why": "replaced or deleted since this event; a newer event, if any"}

    with closing(RejectedRows()) as rejects, tempfile.SpooledTemporaryFile(max_size=PSV_SPOOL_BYTES) as psv_file:
        try:
            salary_file = read_salaries(body, rejects, psv_file)
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
        changed = store.replace(source, salary_file.contributions)
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
    finally:
        psv_text.detach()  # hand the bytes back to the caller without closing them
    return salary_file


def _report_whole_file(s3: Any, ref: S3ObjectRef, reason: str) -> dict[str, Any]:
    """Report an empty file, or a first line that is neither header nor row, as the file's one rejected row (line 1);
    return the summary's outcome."""
    with closing(RejectedRows()) as rejects:
        rejects.add(1, [], reason)
        rejects.upload(s3, ref.bucket, report_key(ref.key))
    return {"outcome": "rejected", "why": reason, "rows_rejected": 1}
