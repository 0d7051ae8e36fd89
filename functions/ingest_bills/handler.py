"""ingest_bills: a bills-due CSV uploaded to S3 lands in the balance table (rules: payproc.bills, docs/ingestion.md).

Invoked by S3 (one record per uploaded file) or by itself with {"continuation": {...}} to ingest the rest of a file
too large for one invocation.
"""

from __future__ import annotations

from typing import Any

from payproc.config import get_settings
from payproc.ingest import IngestJob, is_bills_file, run_job
from payproc.logs import get_logger, log_event
from payproc.s3csv import object_from_record

LOG = get_logger("ingest_bills")


def jobs_from_event(event: dict[str, Any]) -> list[IngestJob]:
    """The ingestion jobs an invocation carries: a continuation, or one job per bills CSV in an S3 event."""
    if "continuation" in event:
        return [IngestJob(**event["continuation"])]
    jobs = []
    for record in event.get("Records", []):
        ref = object_from_record(record)
        if is_bills_file(ref.key):
            jobs.append(IngestJob.from_ref(ref))
        else:
            log_event(LOG, "ingest_ignored", key=ref.key, reason="not a .csv under bills-due/")
    return jobs


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Ingest each file (or chunk) the event names; return the summaries for the logs and tests."""
    settings = get_settings()
    table_name = settings.require("balance_table")
    summaries = []
    for job in jobs_from_event(event):
        summary = run_job(job, table_name, settings.ingest_chunk_bytes, context)
        summaries.append({"key": job.key, "summary": summary.as_dict() if summary else None})
    return {"files": summaries}
