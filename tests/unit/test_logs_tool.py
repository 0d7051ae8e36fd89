"""ops.logs shows the lines our functions write (made here by payproc's own logger and metrics) readably, each once,
in time order, with the function's name in front."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest

from ops import logs
from payproc.telemetry import count, instrumented, logger, metrics

UTC = dt.timezone.utc


class LambdaContext:
    function_name = "payproc-process-payment"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:payproc-process-payment"
    aws_request_id = "0d6c8a4e-5f7a-4b7e-9d7e-1a2b3c4d5e6f"


@pytest.fixture
def logged():
    """The raw lines payproc's logger writes during the test, as CloudWatch receives them; no key appended by an
    earlier test's handler (a Lambda clears them when the next invocation starts)."""
    stream = io.StringIO()
    previous = logger.registered_handler.setStream(stream)
    logger.clear_state()
    yield lambda: stream.getvalue().splitlines()
    logger.clear_state()
    logger.registered_handler.setStream(previous)


class FakeLogs:
    """filter_log_events over events held in memory, as CloudWatch Logs answers it (startTime inclusive)."""

    class exceptions:
        class ResourceNotFoundException(Exception):
            pass

    def __init__(self, groups: dict[str, list[dict[str, Any]]]):
        self.groups = groups

    def get_paginator(self, operation: str):
        assert operation == "filter_log_events"
        return self

    def paginate(self, logGroupName: str, startTime: int, filterPattern: str | None = None):
        if logGroupName not in self.groups:
            raise self.exceptions.ResourceNotFoundException(logGroupName)
        phrase = filterPattern.strip('"') if filterPattern else ""
        found = [e for e in self.groups[logGroupName] if e["timestamp"] >= startTime and phrase in e["message"]]
        yield {"events": found[:2]}  # two pages, as a real answer may be
        yield {"events": found[2:]}


def event(event_id: str, ms: int, message: str) -> dict[str, Any]:
    return {"eventId": event_id, "timestamp": ms, "message": message}


def test_a_powertools_line_shows_its_level_message_and_own_keys_without_the_context_every_line_carries(logged):
    @instrumented
    def handler(event, context):
        logger.append_keys(PaymentId="3f2a9c")
        logger.info("payment_committed", invoice_id=7, amount="125.50", card="Visa ending 1111")

    handler({}, LambdaContext())
    [line] = [line for line in logged() if "payment_committed" in line]
    assert "function_arn" in line and "cold_start" in line  # the context was there to leave out
    assert logs.readable(line) == (
        'INFO payment_committed PaymentId=3f2a9c invoice_id=7 amount=125.50 card="Visa ending 1111"'
    )


def test_an_exception_shows_its_traceback_under_its_line(logged):
    try:
        raise KeyError("Balance")
    except KeyError:
        logger.exception("unhandled_error")
    text = logs.readable(logged()[-1])
    first, *rest = text.splitlines()
    assert first == "ERROR unhandled_error"
    assert rest[0] == "Traceback (most recent call last):" and rest[-1] == "KeyError: 'Balance'"


def test_a_metrics_line_shows_each_metric_and_its_value(capsys):
    @metrics.log_metrics
    def handler(event, context):
        count("RowsIngested", 3)
        count("RowsRejected", 1)

    capsys.readouterr()
    handler({}, None)
    [line] = [line for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert logs.readable(line) == "metrics RowsIngested=3 RowsRejected=1"
    assert logs.line_of("ingest_bills", event("e", 0, line)).time == logs.from_ms(json.loads(line)["_aws"]["Timestamp"])


def test_a_runtime_traceback_joined_by_carriage_returns_is_shown_on_lines_of_its_own():
    message = (
        "[ERROR] InvalidObjectState: An error occurred\rTraceback (most recent call last):\r"
        '  File "/var/task/handler.py", line 3, in handler\n'
    )
    assert logs.readable(message).splitlines() == [
        "[ERROR] InvalidObjectState: An error occurred",
        "Traceback (most recent call last):",
        '  File "/var/task/handler.py", line 3, in handler',
    ]


def test_a_workflow_event_shows_its_type_execution_and_error():
    message = json.dumps(
        {
            "id": "9",
            "type": "ExecutionFailed",
            "details": {"error": "PaymentFailed", "cause": "the payment was not committed; its status says why"},
            "previous_event_id": "8",
            "event_timestamp": "1764464523456",
            "execution_arn": "arn:aws:states:us-east-1:000000000000:execution:payproc-payment:3f2a9c",
        }
    )
    assert logs.readable(message) == (
        "ExecutionFailed 3f2a9c PaymentFailed: the payment was not committed; its status says why"
    )
    assert logs.line_of("workflow", event("e", 0, message)).time == dt.datetime(2025, 11, 30, 1, 2, 3, 456000, UTC)


def test_a_workflow_event_of_a_failed_function_shows_its_error_message_not_its_stack_trace():
    cause = json.dumps(
        {
            "errorMessage": "invoice 7 balance is 9.00, not the 8.00 of this payment",
            "errorType": "PaymentRejected",
            "stackTrace": ['  File "handler.py", line 26, in handler'],
        }
    )
    message = json.dumps(
        {
            "id": "7",
            "type": "LambdaFunctionFailed",
            "details": {"error": "PaymentRejected", "cause": cause},
            "event_timestamp": "1764464523456",
            "execution_arn": "arn:aws:states:us-east-1:000000000000:execution:payproc-payment:3f2a9c",
        }
    )
    assert logs.readable(message) == (
        "LambdaFunctionFailed 3f2a9c PaymentRejected: invoice 7 balance is 9.00, not the 8.00 of this payment"
    )


def test_a_line_is_shown_at_the_time_it_was_written_not_when_it_reached_cloudwatch(logged):
    logger.info("ingest_chunk")
    written = json.loads(logged()[-1])["timestamp"]
    # LocalStack stamps every event of an invocation with the time the invocation ended.
    line = logs.line_of("ingest_bills", event("e", 4102444800000, logged()[-1]))
    assert line.time == dt.datetime.strptime(written, "%Y-%m-%d %H:%M:%S,%f%z")
    assert logs.line_of("ingest_bills", event("e", 1764464523456, "START RequestId: x")).time == dt.datetime(
        2025, 11, 30, 1, 2, 3, 456000, UTC
    )


def test_following_shows_each_event_once_oldest_first_across_functions_and_one_that_arrives_late():
    groups = {
        "process_payment": "/aws/lambda/p-process-payment",
        "start_payment": "/aws/lambda/p-start-payment",
        "workflow": "/aws/vendedlogs/states/p-payment",
    }
    stored = {
        "/aws/lambda/p-process-payment": [event("p1", 2_000, "START RequestId: b")],
        "/aws/lambda/p-start-payment": [
            event("s1", 1_000, "START RequestId: a"),
            event("s2", 3_000, "END RequestId: a"),
        ],
    }
    # The workflow's group does not exist yet: it has nothing to show.
    follower = logs.Follower(FakeLogs(stored), groups, logs.from_ms(0))
    assert [(line.source, line.text) for line in follower.poll()] == [
        ("start_payment", "START RequestId: a"),
        ("process_payment", "START RequestId: b"),
        ("start_payment", "END RequestId: a"),
    ]
    assert follower.poll() == []
    stored["/aws/lambda/p-start-payment"].append(event("s3", 2_500, "arrived after a later one"))
    stored["/aws/lambda/p-start-payment"].append(event("s4", 9_000, "newest"))
    assert [line.text for line in follower.poll()] == ["arrived after a later one", "newest"]
    assert follower.poll() == []


def test_an_invocations_lines_keep_their_order_when_cloudwatch_stamps_them_all_at_its_end(logged):
    logger.info("payment_accepted")
    ended = logs.to_ms(dt.datetime.now(UTC)) + 1_000  # LocalStack: the time the invocation ended, for every line
    stored = {
        "/aws/lambda/p-start-payment": [
            event("1", ended, "START RequestId: a"),
            event("2", ended, logged()[-1]),
            event("3", ended, "END RequestId: a"),
        ]
    }
    follower = logs.Follower(FakeLogs(stored), {"start_payment": "/aws/lambda/p-start-payment"}, logs.from_ms(0))
    lines = follower.poll()
    assert [line.text for line in lines] == ["START RequestId: a", "INFO payment_accepted", "END RequestId: a"]
    assert lines[1].time < lines[0].time == logs.from_ms(ended)  # each shown at its own time where it has one


def test_following_starts_where_asked():
    stored = {"/aws/lambda/p-get-balance": [event("a", 1_000, "before"), event("b", 5_000, "after")]}
    follower = logs.Follower(FakeLogs(stored), {"get_balance": "/aws/lambda/p-get-balance"}, logs.from_ms(5_000))
    assert [line.text for line in follower.poll()] == ["after"]


def test_log_groups_name_each_function_by_its_folder_and_the_workflow():
    outputs = {
        "function_names": {"start_payment": "p-start-payment", "get_balance": "p-get-balance"},
        "workflow_log_group": "/aws/vendedlogs/states/p-payment",
    }
    assert logs.log_groups(outputs) == {
        "get_balance": "/aws/lambda/p-get-balance",
        "start_payment": "/aws/lambda/p-start-payment",
        "workflow": "/aws/vendedlogs/states/p-payment",
    }


@pytest.mark.parametrize(
    "since, expected",
    [
        ("30s", dt.datetime(2026, 11, 30, 11, 59, 30, tzinfo=UTC)),
        ("10m", dt.datetime(2026, 11, 30, 11, 50, tzinfo=UTC)),
        ("2h", dt.datetime(2026, 11, 30, 10, 0, tzinfo=UTC)),
        ("1d", dt.datetime(2026, 11, 29, 12, 0, tzinfo=UTC)),
        ("2026-11-30T08:15:00Z", dt.datetime(2026, 11, 30, 8, 15, tzinfo=UTC)),
        ("2026-11-30T08:15:00+01:00", dt.datetime(2026, 11, 30, 7, 15, tzinfo=UTC)),
    ],
)
def test_since_is_a_duration_back_from_now_or_a_time(since, expected):
    assert logs.parse_since(since, dt.datetime(2026, 11, 30, 12, 0, tzinfo=UTC)) == expected


def test_since_that_is_neither_says_what_it_takes():
    with pytest.raises(Exception, match="30s, 10m, 2h, 1d"):
        logs.parse_since("yesterday", dt.datetime(2026, 11, 30, tzinfo=UTC))


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_colour_only_on_a_terminal_and_never_with_no_color():
    assert logs.use_colour(Terminal(), {})
    assert not logs.use_colour(Terminal(), {"NO_COLOR": "1"})
    assert not logs.use_colour(io.StringIO(), {})


def test_a_line_is_prefixed_by_its_time_and_function_and_its_further_lines_are_indented_under_it():
    line = logs.Line(dt.datetime(2026, 11, 30, 1, 2, 3, 456789, UTC), "send_text", "ERROR boom\nTraceback")
    assert logs.render(line, 15).splitlines() == [
        "2026-11-30T01:02:03.456Z  send_text        ERROR boom",
        " " * 43 + "Traceback",
    ]
    coloured = logs.render(line, 15, {"send_text": logs.COLOURS[0]})
    assert coloured.startswith(f"2026-11-30T01:02:03.456Z  {logs.COLOURS[0]}send_text      {logs.RESET}  ")
    assert f"{logs.LEVEL_COLOURS['ERROR']}ERROR{logs.RESET} boom" in coloured
