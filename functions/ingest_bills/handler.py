"""ingest_bills: a bills-due CSV uploaded to S3 lands in the balance table (rules: payproc.bills, docs/ingestion.md).

Invoked by S3 (one record per uploaded file) or by itself with {"continuation": {...}} to ingest the rest of a file
too large for one invocation.
"""

from __future__ import annotations

from typing import Any

from payproc.config import get_settings
from payproc.bill_ingest import IngestJob, is_bills_file, run_job
from payproc.s3csv import object_from_record
from payproc.telemetry import instrumented, logger


def jobs_from_event(event: dict[str, Any]) -> list[IngestJob]:
    """The files an invocation names: a continuation, or one job per S3 record (bills CSV or not)."""
    if "continuation" in event:
        return [IngestJob(**event["continuation"])]
    return [IngestJob.from_ref(object_from_record(record)) for record in event.get("Records", [])]


@instrumented
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Ingest each file (or chunk) the event names; return the summaries for the logs and tests."""
    settings = get_settings()
    table_name = settings.require("balance_table")
    summaries = []
    for job in jobs_from_event(event):
        # Every line logged for this file, payproc's included, says which file it is.
        with logger.append_context_keys(bucket=job.bucket, key=job.key):
            if not is_bills_file(job.key):
                logger.info("ingest_ignored", reason="not a .csv")
                continue
            summary = run_job(job, table_name, settings.ingest_chunk_bytes, context)
        summaries.append({"key": job.key, "summary": summary.as_dict() if summary else None})
    return {"files": summaries}
