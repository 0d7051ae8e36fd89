"""salary_files: a salaries CSV uploaded to S3 replaces what its month (or, without a month in its key, its earlier
upload) contributed to the EmployeeSalary table, and leaves a pipe-separated copy in processed/ (payproc.salary_ingest,
docs/salaries.md)."""

from __future__ import annotations

from typing import Any

from payproc.config import get_settings
from payproc.s3csv import object_from_record
from payproc.salary_ingest import process_file
from payproc.salary_store import SalaryStore
from payproc.telemetry import ROWS_INGESTED, ROWS_REJECTED, count, instrumented, logger


@instrumented
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Process each uploaded file the event names; return the summaries for the logs and tests."""
    store = SalaryStore(get_settings().require("salary_table"))
    summaries = []
    for record in event.get("Records", []):
        ref = object_from_record(record)
        # Every line logged for this file, payproc's included, says which file it is.
        with logger.append_context_keys(bucket=ref.bucket, key=ref.key):
            summary = process_file(store, ref)
            # Counted once the file is done, so a failed attempt that S3 retries does not count its rows twice.
            count(ROWS_INGESTED, summary.get("rows_counted", 0))
            count(ROWS_REJECTED, summary.get("rows_rejected", 0))
            logger.info("salary_file", **summary)
        summaries.append(summary)
    return {"files": summaries}
