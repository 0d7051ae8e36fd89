"""One ingestion job: stream a bills-due file (or the rest of it, from a byte offset) into the balance table.

A job stops early when its invocation is running out of time or has read INGEST_CHUNK_BYTES, after every write of
the rows before its stopping point has finished; it then hands the rest of the file to a new asynchronous invocation
of the same function (a continuation). Chunks are idempotent by the ingestion rules, so a retried or re-delivered
chunk changes nothing it already wrote.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Mapping, Protocol

from botocore.exceptions import ClientError

from payproc import aws
from payproc.bill_store import write_batch
from payproc.bills import BILLS_HEADER, Action, BillRow, last_row_per_invoice, parse_bill_row
from payproc.s3csv import CsvRowReader, HeaderError, ObjectGone, RejectedRows, S3ObjectRef, open_object, report_key
from payproc.telemetry import ROWS_INGESTED, ROWS_REJECTED, count, logger

BATCH_ROWS = 100  # one BatchGetItem, and at most one TransactWriteItems, per batch
WRITER_THREADS = 4
MAX_BATCHES_IN_FLIGHT = 8  # bounds memory: at most this many batches wait for DynamoDB
MIN_RESERVE_MS = 10_000


@dataclass
class IngestSummary:
    """Counts of one file's ingestion (summed over its chunks)."""

    read: int = 0
    created: int = 0
    updated: int = 0
    skipped_paid: int = 0
    skipped_unchanged: int = 0
    superseded: int = 0
    rejected: int = 0

    @property
    def written(self) -> int:
        """Rows that changed the table."""
        return self.created + self.updated

    @property
    def skipped(self) -> int:
        """Valid rows that changed nothing."""
        return self.skipped_paid + self.skipped_unchanged + self.superseded

    @property
    def ingested(self) -> int:
        """Valid rows, each applied by the rules: written, or left as the table had it."""
        return self.written + self.skipped

    def add(self, other: "IngestSummary") -> None:
        """Add another summary's counts to this one."""
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def add_actions(self, actions: Counter[Action]) -> None:
        """Count what the balance table did with a batch's rows (payproc.bill_store.write_batch)."""
        self.created += actions[Action.CREATE]
        self.updated += actions[Action.UPDATE]
        self.skipped_paid += actions[Action.SKIP_PAID]
        self.skipped_unchanged += actions[Action.SKIP_UNCHANGED]

    def as_dict(self) -> dict[str, int]:
        """Counts for logs and continuation payloads."""
        counts = {name: getattr(self, name) for name in self.__dataclass_fields__}
        return {**counts, "written": self.written, "skipped": self.skipped}

    @classmethod
    def from_dict(cls, counts: Mapping[str, int] | None) -> "IngestSummary":
        """A summary from as_dict() output (extra keys ignored)."""
        counts = counts or {}
        return cls(**{name: int(counts.get(name, 0)) for name in cls.__dataclass_fields__})


class LambdaContext(Protocol):
    invoked_function_arn: str

    def get_remaining_time_in_millis(self) -> int: ...


@dataclass
class IngestJob:
    """Where a job starts in which file, and what earlier chunks of the file left for it."""

    bucket: str
    key: str
    etag: str | None = None
    version_id: str | None = None
    offset: int = 0
    line: int = 1
    chunk: int = 0
    part_reports: list[str] = field(default_factory=list)
    summary: dict[str, int] = field(default_factory=dict)

    @property
    def ref(self) -> S3ObjectRef:
        """The S3 object, pinned to the version the upload event named."""
        return S3ObjectRef(self.bucket, self.key, self.etag, self.version_id)

    @classmethod
    def from_ref(cls, ref: S3ObjectRef) -> "IngestJob":
        """The first job of a freshly uploaded file."""
        return cls(bucket=ref.bucket, key=ref.key, etag=ref.etag, version_id=ref.version_id)


def is_bills_file(key: str) -> bool:
    """Whether a key is a bills-due upload: a .csv anywhere in the bucket (the trigger's filter, checked again in case
    it is wider). The function's own outputs end in .rejected.jsonl or .part-<offset>, so they never count."""
    return key.endswith(".csv")


def invoke_continuation(function_arn: str, job: IngestJob) -> None:
    """Invoke this function asynchronously with the rest of the file."""
    aws.client("lambda").invoke(
        FunctionName=function_arn, InvocationType="Event", Payload=json.dumps({"continuation": asdict(job)}).encode()
    )


class ChunkBudget:
    """When a job should stop: out of bytes for this chunk, or too little time left to finish its writes."""

    def __init__(self, context: LambdaContext | None, chunk_bytes: int, start_offset: int) -> None:
        self.context = context
        self.byte_limit = start_offset + chunk_bytes
        remaining = context.get_remaining_time_in_millis() if context else 0
        # Keep a fifth of the invocation (at least 10 s) to finish in-flight writes and hand over.
        self.reserve_ms = max(MIN_RESERVE_MS, remaining // 5)

    def exhausted(self, offset: int) -> bool:
        """Whether to stop before the row at this byte offset."""
        if offset >= self.byte_limit:
            return True
        return bool(self.context) and self.context.get_remaining_time_in_millis() < self.reserve_ms


class BatchPipeline:
    """Groups rows into batches and writes them on a small thread pool, keeping a bounded number in flight.

    A batch that shares an invoice with one still in flight waits for it, so a later line of the file always
    lands after an earlier line of the same invoice.
    """

    def __init__(
        self,
        pool: ThreadPoolExecutor,
        table_name: str,
        summary: IngestSummary,
        write: Callable[[str, list[BillRow]], Counter[Action]] = write_batch,
    ) -> None:
        self.pool, self.table_name, self.summary, self.write = pool, table_name, summary, write
        self.rows: list[tuple[int, BillRow]] = []
        self.in_flight: list[tuple[Future[Counter[Action]], set[int]]] = []

    def add(self, line: int, row: BillRow) -> None:
        """Queue one valid row; submits a batch when it is full."""
        self.rows.append((line, row))
        if len(self.rows) >= BATCH_ROWS:
            self._submit()

    def flush(self) -> None:
        """Submit the partial batch and wait for every batch; raises the first write error."""
        if self.rows:
            self._submit()
        while self.in_flight:
            self._collect_oldest()

    def _submit(self) -> None:
        batch, superseded = last_row_per_invoice(self.rows)
        self.rows = []
        self.summary.superseded += superseded
        ids = {row.invoice_id for _, row in batch}
        while self.in_flight and (
            len(self.in_flight) >= MAX_BATCHES_IN_FLIGHT or any(ids & pending for _, pending in self.in_flight)
        ):
            self._collect_oldest()
        self.in_flight.append((self.pool.submit(self.write, self.table_name, [row for _, row in batch]), ids))

    def _collect_oldest(self) -> None:
        future, _ = self.in_flight.pop(0)
        self.summary.add_actions(future.result())


def run_job(
    job: IngestJob,
    table_name: str,
    chunk_bytes: int,
    context: LambdaContext | None,
    continue_later: Callable[[str, IngestJob], None] | None = None,
) -> IngestSummary | None:
    """Process one chunk of a file; continue the rest later or finish the file's report. None if the file is gone."""
    started = time.monotonic()
    s3 = aws.client("s3")
    try:
        body = open_object(s3, job.ref, job.offset)
    except ObjectGone as gone:
        logger.info("ingest_stopped", reason=str(gone), then="left to the newer event, if any")
        return None
    rejects = RejectedRows()
    chunk = IngestSummary()
    reader = CsvRowReader(body, BILLS_HEADER, rejects, parse_bill_row, start_offset=job.offset, start_line=job.line)
    finished = _ingest_rows(reader, rejects, chunk, table_name, ChunkBudget(context, chunk_bytes, job.offset))
    chunk.rejected = rejects.count
    total = IngestSummary.from_dict(job.summary)
    total.add(chunk)
    # The counts go under one key: `created` is also a LogRecord attribute, which logging refuses to overwrite.
    logger.info(
        "ingest_chunk",
        chunk=job.chunk,
        start=job.offset,
        end=reader.offset,
        seconds=round(time.monotonic() - started, 3),
        counts=chunk.as_dict(),
    )
    count(ROWS_INGESTED, chunk.ingested)
    count(ROWS_REJECTED, chunk.rejected)
    if finished:
        _finish_file(s3, job, rejects)
        logger.info("ingest_summary", chunks=job.chunk + 1, counts=total.as_dict())
    else:
        part_reports = list(job.part_reports)
        if rejects.count:
            # Always 15 digits (S3 objects stay below 5 TB): the function's role may write exactly this shape.
            part_key = f"{report_key(job.key)}.part-{job.offset:015d}"
            rejects.upload(s3, job.bucket, part_key)
            part_reports.append(part_key)
        next_job = IngestJob(
            job.bucket,
            job.key,
            job.etag,
            job.version_id,
            reader.offset,
            reader.next_line,
            job.chunk + 1,
            part_reports,
            total.as_dict(),
        )
        (continue_later or invoke_continuation)(context.invoked_function_arn if context else "", next_job)
        logger.info("ingest_continued", next_offset=reader.offset, next_line=reader.next_line)
    rejects.close()
    return total


def _ingest_rows(
    reader: CsvRowReader, rejects: RejectedRows, summary: IngestSummary, table_name: str, budget: ChunkBudget
) -> bool:
    """Validate and write rows until the file ends (True) or the budget says stop (False)."""
    malformed_before = rejects.count
    invalid = 0
    with ThreadPoolExecutor(WRITER_THREADS) as pool:
        pipeline = BatchPipeline(pool, table_name, summary)
        finished = True
        try:
            for line, fields in reader:
                summary.read += 1
                try:
                    pipeline.add(line, parse_bill_row(fields))
                except ValueError as error:
                    rejects.add(line, list(fields.values()), str(error))
                    invalid += 1
                if budget.exhausted(reader.offset):
                    finished = False
                    break
        except HeaderError as error:
            rejects.add(1, [], str(error))
            invalid += 1
        pipeline.flush()
    # Rows the CSV reader rejected (bad bytes, wrong column count) were read too.
    summary.read += rejects.count - malformed_before - invalid
    return finished


def _finish_file(s3: Any, job: IngestJob, rejects: RejectedRows) -> None:
    """Write the file's report (earlier chunks' parts first, in file order), then remove the parts."""
    report = RejectedRows()
    for part_key in job.part_reports:
        report.append_jsonl(s3.get_object(Bucket=job.bucket, Key=part_key)["Body"])
    rejects.upload_into(report)
    report.upload(s3, job.bucket, report_key(job.key))
    report.close()
    for part_key in job.part_reports:
        try:
            s3.delete_object(Bucket=job.bucket, Key=part_key)
        except ClientError as error:  # a leftover part is untidy, not wrong: the report is complete
            logger.info("part_report_not_deleted", part_key=part_key, reason=aws.error_code(error))
