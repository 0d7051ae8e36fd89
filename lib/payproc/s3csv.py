"""CSV files in S3: decode an event record, stream an object's rows with flat memory, report rejected rows.

The reader splits the raw byte stream into lines itself (instead of wrapping it in codecs.getreader) for two reasons:
it knows the exact byte offset where each row ends, so a large file can be continued from that offset by another
invocation (S3 ranged GET), and a line with bytes that are not UTF-8 becomes one rejected row instead of a decode
error that ends the whole file. Decoded lines feed the stdlib csv parser, which pulls further lines only for a
quoted field that spans them.

Every pipeline treats an unreadable file one way: an object gone since its event (replaced or deleted) raises
ObjectGone and is skipped, since its newer event, if any, handles what is there now; an empty file (or a first line
that is neither the header nor a row) raises HeaderError and is rejected whole, as line 1 of its report.
"""

from __future__ import annotations

import csv
import json
import tempfile
import urllib.parse
from dataclasses import dataclass
from typing import IO, Any, Callable, Iterator, Protocol, Sequence

from botocore.exceptions import ClientError, IncompleteReadError, ReadTimeoutError, ResponseStreamingError

from payproc import aws
from payproc.telemetry import logger

UTF8_BOM = b"\xef\xbb\xbf"
READ_SIZE = 64 * 1024
# A line longer than this is not a bill row; it is cut and rejected so one bad line cannot exhaust memory.
MAX_LINE_BYTES = 64 * 1024
REPORT_SUFFIX = ".rejected.jsonl"
BROKEN_STREAM_ERRORS = (ResponseStreamingError, IncompleteReadError, ReadTimeoutError)
# What S3 answers for an object replaced (the pinned ETag or version no longer matches) or deleted since its event.
GONE_CODES = frozenset({"PreconditionFailed", "412", "NoSuchKey", "NoSuchVersion", "404"})


class HeaderError(ValueError):
    """The file's first line is neither the expected header nor a valid row: the whole file is rejected."""


class EmptyFileError(HeaderError):
    """The file holds no line at all (at most a byte order mark)."""


class ObjectGone(Exception):
    """The object was replaced or deleted since the event that named it."""


class ReadableBytes(Protocol):
    def read(self, size: int = -1) -> bytes: ...


@dataclass(frozen=True)
class S3ObjectRef:
    """The object an S3 event record is about."""

    bucket: str
    key: str
    etag: str | None = None
    version_id: str | None = None


def object_from_record(record: dict[str, Any]) -> S3ObjectRef:
    """Bucket, URL-decoded key, ETag and version of an S3 event notification record."""
    s3 = record["s3"]
    obj = s3["object"]
    # Event keys are URL-encoded with '+' for spaces: "bills-due/2026-11-23 day.csv" arrives as "...23+day.csv".
    return S3ObjectRef(
        bucket=s3["bucket"]["name"],
        key=urllib.parse.unquote_plus(obj["key"]),
        etag=(obj.get("eTag") or obj.get("etag") or "").strip('"') or None,
        version_id=obj.get("versionId") or None,
    )


def open_object(s3_client: Any, ref: S3ObjectRef, start_offset: int = 0) -> ReadableBytes:
    """The object's body from start_offset on, pinned to the event's ETag/version so a replaced file is not mixed in;
    a broken connection is resumed where it broke (ResumableBody). Raises ObjectGone if it was replaced or deleted."""
    return ResumableBody(s3_client, ref, start_offset)


class ResumableBody:
    """An S3 object's bytes from an offset on that survive a broken connection: a read that fails with a reset,
    a truncated body or a read time-out asks S3 again for the rest (a ranged GET, still pinned to the same
    version or ETag), up to MAX_RESUMES times in all. A big file is read as slowly as it is ingested, for minutes,
    and one broken connection must not cost the whole invocation."""

    MAX_RESUMES = 5

    def __init__(self, s3_client: Any, ref: S3ObjectRef, start_offset: int = 0) -> None:
        self._s3, self._ref, self.position = s3_client, ref, start_offset
        self.resumes = 0
        self._body = self._open()

    def _open(self) -> ReadableBytes:
        request: dict[str, Any] = {"Bucket": self._ref.bucket, "Key": self._ref.key}
        if self._ref.version_id:
            request["VersionId"] = self._ref.version_id
        elif self._ref.etag:
            request["IfMatch"] = f'"{self._ref.etag}"'
        if self.position:
            request["Range"] = f"bytes={self.position}-"
        try:
            return self._s3.get_object(**request)["Body"]
        except ClientError as error:
            if aws.error_code(error) in GONE_CODES:
                raise ObjectGone(f"s3://{self._ref.bucket}/{self._ref.key}: {aws.error_code(error)}") from None
            raise

    def read(self, size: int = -1) -> bytes:
        while True:
            try:
                chunk = self._body.read(size)
            except BROKEN_STREAM_ERRORS as error:
                if self.resumes >= self.MAX_RESUMES:
                    raise
                self.resumes += 1
                logger.warning(
                    "s3_read_resumed",
                    object=f"s3://{self._ref.bucket}/{self._ref.key}",
                    error=str(error),
                    position=self.position,
                )
                self._body = self._open()
                continue
            self.position += len(chunk)
            return chunk


@dataclass
class _RawLine:
    text: str
    problem: str | None


class CsvRowReader:
    """Iterate (line_number, row) over a CSV byte stream; malformed rows go to `rejects`, good rows are yielded.

    The header is optional: a first line that is the header (its names in any case, spaces around them allowed) is
    skipped; a first line that is a valid row (`check_row` does not raise ValueError) is the first row; a first line
    that is neither raises HeaderError before any row is yielded, so nothing of such a file is applied.

    line_number is the 1-based line of the file where the row starts (a header is line 1); row maps each header
    name to its field. After each yielded row, `offset` is the absolute byte offset where the next row starts and
    `next_line` its line number: what a continuation needs to resume with start_offset/start_line.
    """

    def __init__(
        self,
        stream: ReadableBytes,
        header: Sequence[str],
        rejects: "RejectedRows",
        check_row: Callable[[dict[str, str]], object],
        start_offset: int = 0,
        start_line: int = 1,
    ) -> None:
        self.header = list(header)
        self.rejects = rejects
        self.check_row = check_row
        self.offset = start_offset
        self.next_line = start_line
        self._stream = stream
        self._at_file_start = start_offset == 0
        self._lines_read = start_line - 1
        self._problem_in_row: str | None = None

    def __iter__(self) -> Iterator[tuple[int, dict[str, str]]]:
        parser = csv.reader(self._decoded_lines(), strict=True)
        if self._at_file_start and (first_row := self._first_row_unless_header(parser)):
            yield first_row
        while True:
            row_start_line = self._lines_read + 1
            self._problem_in_row = None
            try:
                fields = next(parser)
            except StopIteration:
                return
            except csv.Error as error:
                fields, problem = [], f"unreadable CSV: {error}"
            else:
                problem = self._problem_in_row or self._shape_problem(fields)
            self.next_line = self._lines_read + 1
            if problem:
                self.rejects.add(row_start_line, fields, problem)
            elif fields:  # skip blank lines, e.g. at the end of the file
                yield row_start_line, dict(zip(self.header, fields))

    def _first_row_unless_header(self, parser: Iterator[list[str]]) -> tuple[int, dict[str, str]] | None:
        """None when the first line is the header, the first row when it is a valid row; else HeaderError."""
        expected = ",".join(self.header)
        try:
            found = next(parser)
        except StopIteration:
            raise EmptyFileError(f"the file is empty; expected the header {expected} or rows") from None
        except csv.Error as error:
            raise HeaderError(f"the first line is not readable CSV: {error}") from None
        self.next_line = self._lines_read + 1
        if not self._problem_in_row and [name.strip().lower() for name in found] == [
            name.lower() for name in self.header
        ]:
            return None
        row = dict(zip(self.header, found))
        problem = self._problem_in_row or self._shape_problem(found) or self._row_problem(row)
        if problem:
            raise HeaderError(f"expected the header {expected} or a valid row, found {','.join(found)} ({problem})")
        return 1, row

    def _row_problem(self, row: dict[str, str]) -> str | None:
        if not row:
            return "a blank line"
        try:
            self.check_row(row)
        except ValueError as error:
            return str(error)
        return None

    def _shape_problem(self, fields: list[str]) -> str | None:
        if fields and len(fields) != len(self.header):
            return f"expected {len(self.header)} columns, found {len(fields)}"
        return None

    def _decoded_lines(self) -> Iterator[str]:
        for line in self._raw_lines():
            self._lines_read += 1
            if line.problem:
                self._problem_in_row = line.problem
            yield line.text

    def _chunks(self) -> Iterator[bytes]:
        first = True
        while chunk := self._stream.read(READ_SIZE):
            if first and self._at_file_start:
                while len(chunk) < len(UTF8_BOM) and (more := self._stream.read(READ_SIZE)):
                    chunk += more  # a tiny first read could split the BOM
                if chunk.startswith(UTF8_BOM):
                    chunk = chunk[len(UTF8_BOM) :]
                    self.offset += len(UTF8_BOM)
            first = False
            yield chunk

    def _raw_lines(self) -> Iterator[_RawLine]:
        """Lines of the byte stream with their line ends, decoded one by one; `offset` advances past each."""
        pending = b""
        skipping_long_line = False  # the rest of a line already rejected as too long
        for chunk in self._chunks():
            pending += chunk
            start = 0
            while (end := pending.find(b"\n", start)) != -1:
                line = pending[start : end + 1]
                start = end + 1
                self.offset += len(line)
                if skipping_long_line:
                    skipping_long_line = False
                    continue
                yield _decode(line)
            pending = pending[start:]
            if len(pending) > MAX_LINE_BYTES:
                self.offset += len(pending)
                if not skipping_long_line:
                    yield _RawLine("\n", f"line longer than {MAX_LINE_BYTES} bytes")
                    skipping_long_line = True
                pending = b""
        if pending:
            self.offset += len(pending)
            if not skipping_long_line:
                yield _decode(pending)


def _decode(line: bytes) -> _RawLine:
    try:
        return _RawLine(line.decode("utf-8"), None)
    except UnicodeDecodeError as error:
        # Keep the readable part for the report; the row is rejected because of the problem.
        problem = f"not UTF-8: byte {line[error.start]:#04x} at column {error.start + 1}"
        return _RawLine(line.decode("utf-8", errors="replace"), problem)


class RejectedRows:
    """Rejected rows as JSON lines {line, row, reason}, spooled to a temporary file so memory stays bounded."""

    def __init__(self) -> None:
        self.count = 0
        self._spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)

    def add(self, line: int, row: Sequence[str] | dict[str, str] | str, reason: str) -> None:
        """Record one rejected row with its file line number and why it was rejected."""
        entry = {"line": line, "row": list(row.values()) if isinstance(row, dict) else row, "reason": reason}
        self._spool.write(json.dumps(entry, ensure_ascii=False).encode("utf-8") + b"\n")
        self.count += 1

    def append_jsonl(self, stream: ReadableBytes) -> None:
        """Append rows already written as JSON lines (the part report of an earlier chunk), streaming them."""
        while piece := stream.read(READ_SIZE):
            self._spool.write(piece)
            self.count += piece.count(b"\n")

    def upload(self, s3_client: Any, bucket: str, key: str) -> None:
        """Write the collected rows to s3://bucket/key (an empty object when nothing was rejected)."""
        self._spool.seek(0)
        # The spool is a file object, so botocore streams it rather than building one bytes value.
        s3_client.put_object(Bucket=bucket, Key=key, Body=self._spool, ContentType="application/x-ndjson")
        self._spool.seek(0, 2)

    def upload_into(self, other: "RejectedRows") -> None:
        """Append this collection's rows to another one."""
        self._spool.seek(0)
        other.append_jsonl(self._spool)
        self._spool.seek(0, 2)

    def close(self) -> None:
        """Free the spool."""
        self._spool.close()


def report_key(key: str) -> str:
    """Key of the rejected-rows report of an uploaded file: next to it, not ending in .csv so it triggers nothing."""
    return key + REPORT_SUFFIX
