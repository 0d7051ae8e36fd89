import io
import json

import pytest

from botocore.exceptions import ClientError, ResponseStreamingError

from payproc.bills import parse_bill_row
from payproc.s3csv import (
    MAX_LINE_BYTES,
    CsvRowReader,
    EmptyFileError,
    HeaderError,
    ObjectGone,
    RejectedRows,
    ResumableBody,
    S3ObjectRef,
    object_from_record,
    open_object,
    report_key,
)

HEADER = ["InvoiceID", "CustomerName", "Balance", "IsProcessed"]


class TrickleStream(io.BytesIO):
    """Returns at most `size` bytes per read, so line and BOM handling across chunk borders is exercised."""

    def __init__(self, data: bytes, size: int):
        super().__init__(data)
        self.size = size

    def read(self, n=-1):
        return super().read(self.size)


def read_all(data: bytes, trickle: int | None = None, **kwargs):
    rejects = RejectedRows()
    stream = TrickleStream(data, trickle) if trickle else io.BytesIO(data)
    reader = CsvRowReader(stream, HEADER, rejects, parse_bill_row, **kwargs)
    rows = list(reader)
    return rows, report_entries(rejects), reader


def report_entries(rejects: RejectedRows):
    rejects._spool.seek(0)
    return [json.loads(line) for line in rejects._spool.read().decode().splitlines()]


@pytest.mark.parametrize("trickle", [None, 1, 2, 7])
def test_bom_crlf_and_quoted_commas(trickle):
    data = b'\xef\xbb\xbfInvoiceID,CustomerName,Balance,IsProcessed\r\n1,"Lovelace, Ada",10.50,0\r\n2,Grace,0,1\r\n'
    rows, rejects, reader = read_all(data, trickle)
    assert rows == [
        (2, {"InvoiceID": "1", "CustomerName": "Lovelace, Ada", "Balance": "10.50", "IsProcessed": "0"}),
        (3, {"InvoiceID": "2", "CustomerName": "Grace", "Balance": "0", "IsProcessed": "1"}),
    ]
    assert rejects == [] and reader.offset == len(data)


def test_bad_bytes_are_one_rejected_row_and_the_file_goes_on():
    data = b"InvoiceID,CustomerName,Balance,IsProcessed\n1,Bj\xf6rk,1.00,0\n2,Ok,2.00,0\n"
    rows, rejects, _ = read_all(data)
    assert [line for line, _ in rows] == [3]
    assert rejects[0]["line"] == 2 and "UTF-8" in rejects[0]["reason"] and rejects[0]["row"][0] == "1"


def test_wrong_column_counts_are_rejected_with_their_line():
    data = b"InvoiceID,CustomerName,Balance,IsProcessed\n1,a,1,0\n2,Too,Many,Columns,0\n3,few\n4,b,1,0"
    rows, rejects, _ = read_all(data)
    assert [line for line, _ in rows] == [2, 5]
    assert [(entry["line"], entry["row"]) for entry in rejects] == [
        (3, ["2", "Too", "Many", "Columns", "0"]),
        (4, ["3", "few"]),
    ]


def test_a_quoted_newline_keeps_line_numbers_of_the_file():
    data = b'InvoiceID,CustomerName,Balance,IsProcessed\n1,"two\nlines",1,0\n2,x,1,0\n\n3,y,1,0\n'
    rows, _, _ = read_all(data)
    assert [(line, row["CustomerName"]) for line, row in rows] == [(2, "two\nlines"), (4, "x"), (6, "y")]


def test_blank_lines_and_a_missing_final_newline_are_fine():
    rows, rejects, reader = read_all(b"InvoiceID,CustomerName,Balance,IsProcessed\n\n1,a,1,0")
    assert [line for line, _ in rows] == [3] and rejects == [] and reader.next_line == 4


@pytest.mark.parametrize("data", [b"", b"Invoice,Name\n1,a\n", b"InvoiceID;CustomerName;Balance;IsProcessed\n"])
def test_a_wrong_or_missing_header_stops_the_file(data):
    with pytest.raises(HeaderError):
        read_all(data)


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf"])
def test_an_empty_file_is_rejected_whole_like_a_wrong_header(data):
    with pytest.raises(EmptyFileError, match="the file is empty") as error:
        read_all(data)
    assert isinstance(error.value, HeaderError)  # every pipeline rejects it whole, as line 1 of its report


class _GoneS3:
    def __init__(self, code: str) -> None:
        self.code = code

    def get_object(self, **request):
        raise ClientError({"Error": {"Code": self.code, "Message": "gone"}}, "GetObject")


@pytest.mark.parametrize("code", ["PreconditionFailed", "NoSuchKey", "NoSuchVersion", "404"])
def test_an_object_replaced_or_deleted_since_its_event_is_gone(code):
    with pytest.raises(ObjectGone, match=f"s3://b/k: {code}"):
        open_object(_GoneS3(code), S3ObjectRef("b", "k", etag="abc"))


def test_another_error_of_s3_is_not_taken_for_a_gone_object():
    with pytest.raises(ClientError, match="AccessDenied"):
        open_object(_GoneS3("AccessDenied"), S3ObjectRef("b", "k"))


def test_a_header_with_spaces_or_crlf_is_accepted():
    rows, _, _ = read_all(b"InvoiceID, CustomerName ,Balance,IsProcessed\r\n1,a,1,0\r\n")
    assert len(rows) == 1


@pytest.mark.parametrize("trickle", [None, 1, 2])
@pytest.mark.parametrize(
    "header",
    [
        b"invoiceid,CUSTOMERNAME,balance,IsProcessed",  # any case
        b'"InvoiceID","CustomerName","Balance","IsProcessed"',  # quoted
        b'" InvoiceID ",CustomerName , Balance,IsProcessed',  # spaces around a name
        b'\xef\xbb\xbf"InvoiceID",CustomerName,Balance,IsProcessed',  # a BOM, then a quoted name
    ],
)
def test_a_header_in_any_case_quoted_or_after_a_bom_is_skipped(header, trickle):
    rows, rejects, _ = read_all(header + b"\r\n1,a,1,0\r\n", trickle)
    assert rows == [(2, {"InvoiceID": "1", "CustomerName": "a", "Balance": "1", "IsProcessed": "0"})] and rejects == []


@pytest.mark.parametrize("trickle", [None, 1, 3])
@pytest.mark.parametrize(
    "data",
    [
        b"1,Ada,500,0\n2,Grace,900,0\n",  # the tutorial's file
        b"\xef\xbb\xbf1,Ada,500,0\r\n2,Grace,900,0\r\n",  # a BOM and CRLF
        b'"1","Ada","500","0"\n2,Grace,900,0',  # quoted fields, no final newline
    ],
)
def test_without_a_header_the_first_line_is_the_first_row(data, trickle):
    rows, rejects, reader = read_all(data, trickle)
    assert [(line, row["InvoiceID"], row["CustomerName"]) for line, row in rows] == [(1, "1", "Ada"), (2, "2", "Grace")]
    assert rejects == [] and reader.offset == len(data)


@pytest.mark.parametrize("first_line", [b"7,1234,500,0", b"7,IsProcessed,500,0", b"7,InvoiceID,0,1"])
def test_a_first_row_whose_name_looks_like_a_number_or_a_column_is_a_row(first_line):
    rows, rejects, _ = read_all(first_line + b"\n8,b,1,0\n")
    assert [(line, row["InvoiceID"]) for line, row in rows] == [(1, "7"), (2, "8")] and rejects == []
    assert rows[0][1]["CustomerName"] == first_line.split(b",")[1].decode()


@pytest.mark.parametrize(
    "first_line, reason",
    [
        (b"Invoice,Customer,Balance,Paid", "InvoiceID must be a positive integer"),  # a header with other names
        (b"1,Ada,five,0", "Balance"),  # a bad row
        (b"1,Ada,500", "expected 4 columns, found 3"),
        (b"1,Bj\xf6rk,500,0", "not UTF-8"),
        (b"", "a blank line"),
    ],
)
def test_a_first_line_that_is_neither_header_nor_row_stops_the_file_before_any_row(first_line, reason):
    rejects = RejectedRows()
    reader = iter(CsvRowReader(io.BytesIO(first_line + b"\n2,Grace,900,0\n"), HEADER, rejects, parse_bill_row))
    expected = "expected the header InvoiceID,CustomerName,Balance,IsProcessed or a valid row"
    with pytest.raises(HeaderError, match=expected) as error:
        next(reader)
    assert reason in str(error.value) and rejects.count == 0


def test_an_overlong_line_is_rejected_without_holding_it():
    data = b"InvoiceID,CustomerName,Balance,IsProcessed\n1,a,1,0\n" + b"9" * (MAX_LINE_BYTES * 3) + b"\n2,b,1,0\n"
    rows, rejects, reader = read_all(data, trickle=4096)
    assert [line for line, _ in rows] == [2, 4]
    assert rejects[0]["line"] == 3 and "longer" in rejects[0]["reason"] and reader.offset == len(data)


def test_resuming_at_an_offset_continues_where_a_row_ended():
    data = b'\xef\xbb\xbfInvoiceID,CustomerName,Balance,IsProcessed\n1,a,1,0\n2,"b\nb",1,0\n3,c,1,0\n'
    rejects = RejectedRows()
    first = CsvRowReader(io.BytesIO(data), HEADER, rejects, parse_bill_row)
    iterator = iter(first)
    next(iterator)
    next(iterator)
    offset, line = first.offset, first.next_line
    rest = list(
        CsvRowReader(io.BytesIO(data[offset:]), HEADER, rejects, parse_bill_row, start_offset=offset, start_line=line)
    )
    assert rest == [(5, {"InvoiceID": "3", "CustomerName": "c", "Balance": "1", "IsProcessed": "0"})]


def test_event_record_keys_are_url_decoded():
    record = {
        "s3": {
            "bucket": {"name": "b"},
            "object": {"key": "bills-due/2026-11-23+day%2B1.csv", "eTag": "abc", "size": 10},
        }
    }
    ref = object_from_record(record)
    assert (ref.bucket, ref.key, ref.etag) == ("b", "bills-due/2026-11-23 day+1.csv", "abc")
    assert report_key(ref.key) == "bills-due/2026-11-23 day+1.csv.rejected.jsonl"


class _FlakyS3:
    """get_object answers with a body that breaks after `break_after` bytes, `breaks` times in all."""

    def __init__(self, data: bytes, break_after: int, breaks: int) -> None:
        self.data, self.break_after, self.breaks_left = data, break_after, breaks
        self.requests: list[dict] = []

    def get_object(self, **request):
        self.requests.append(request)
        start = int(request["Range"].removeprefix("bytes=").rstrip("-")) if "Range" in request else 0
        body, s3 = io.BytesIO(self.data[start:]), self

        class Body:
            delivered = 0

            def read(self, size=-1):
                if s3.breaks_left and self.delivered >= s3.break_after:
                    s3.breaks_left -= 1
                    raise ResponseStreamingError(error="Connection reset by peer")
                chunk = body.read(min(size, 1000) if size > 0 else 1000)
                self.delivered += len(chunk)
                return chunk

        return {"Body": Body()}


def test_a_broken_connection_is_resumed_where_it_broke_and_stays_pinned():
    data = bytes(range(256)) * 40
    s3 = _FlakyS3(data, break_after=3000, breaks=2)
    body = ResumableBody(s3, S3ObjectRef("b", "k", etag="abc"), start_offset=100)
    read = b"".join(iter(lambda: body.read(700), b""))
    assert read == data[100:]
    assert body.resumes == 2
    assert [r.get("Range") for r in s3.requests] == [
        "bytes=100-",
        "bytes=3600-",
        "bytes=7100-",
    ]  # 5 reads of 700, then a break
    assert all(r["IfMatch"] == '"abc"' for r in s3.requests)


def test_a_connection_that_keeps_breaking_fails_after_the_allowed_resumes():
    s3 = _FlakyS3(b"x" * 10_000, break_after=0, breaks=ResumableBody.MAX_RESUMES + 1)
    body = ResumableBody(s3, S3ObjectRef("b", "k"))
    with pytest.raises(ResponseStreamingError):
        body.read(100)
    assert len(s3.requests) == ResumableBody.MAX_RESUMES + 1
