"""ops.trace tells a payment's or a file's story: which execution events and log lines it keeps, how it words them,
and what it says of the record and of the failure queue."""

from __future__ import annotations

import datetime as dt
import json

from ops import trace
from tests.helpers.stack import REPO
from tests.unit.test_logs_tool import FakeLogs, event

UTC = dt.timezone.utc
AT = dt.datetime(2026, 11, 30, 1, 2, 3, tzinfo=UTC)
FAILURE_RECORD = (REPO / "tests" / "events" / "ingest_bills_failure_record.json").read_text()


def history(kind: str, details_key: str | None = None, **details) -> dict:
    """An execution history event as boto3 returns it."""
    found = {"timestamp": AT, "type": kind, "id": 1, "previousEventId": 0}
    if details_key:
        found[details_key] = details
    return found


def test_each_state_entered_is_named_with_its_kind():
    assert (
        trace.history_text(
            history(
                "TaskStateEntered",
                "stateEnteredEventDetails",
                name="ProcessPayment",
                input='{"email": "a@example.com"}',
            )
        )
        == "ProcessPayment (Task)"
    )
    assert (
        trace.history_text(history("MapStateEntered", "stateEnteredEventDetails", name="SendAlerts"))
        == "SendAlerts (Map)"
    )


def test_the_execution_start_and_end_are_kept_without_their_input_or_output():
    started = history("ExecutionStarted", "executionStartedEventDetails", input='{"email": "a@example.com"}')
    succeeded = history("ExecutionSucceeded", "executionSucceededEventDetails", output='{"phone": "+15550100"}')
    assert (trace.history_text(started), trace.history_text(succeeded)) == ("ExecutionStarted", "ExecutionSucceeded")


def test_a_failure_says_its_error_and_the_lambda_error_message_of_its_cause():
    cause = json.dumps(
        {
            "errorMessage": "invoice 7 is already paid",
            "errorType": "PaymentRejected",
            "stackTrace": ["  File handler.py"],
        }
    )
    failed = history("LambdaFunctionFailed", "lambdaFunctionFailedEventDetails", error="PaymentRejected", cause=cause)
    assert trace.history_text(failed) == "LambdaFunctionFailed PaymentRejected: invoice 7 is already paid"
    ended = history(
        "ExecutionFailed",
        "executionFailedEventDetails",
        error="PaymentFailed",
        cause="the payment was not committed; its status says why",
    )
    assert trace.history_text(ended) == (
        "ExecutionFailed PaymentFailed: the payment was not committed; its status says why"
    )


def test_the_steps_between_are_left_out():
    for kind in (
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionSucceeded",
        "TaskStateExited",
        "WaitStateExited",
    ):
        assert trace.history_text(history(kind)) is None


def test_only_the_lines_that_carry_the_payment_id_as_theirs_are_its_story():
    mine, other = "3f2a9c", "03f2a9c9"
    ms = int(AT.timestamp() * 1000)
    stored = {
        "/aws/lambda/p-send-text": [
            event(
                "a",
                ms,
                json.dumps(
                    {
                        "level": "INFO",
                        "message": "text_sent",
                        "PaymentId": mine,
                        "timestamp": "2026-11-30 01:02:05,000+0000",
                    }
                ),
            ),
            event("b", ms, json.dumps({"level": "INFO", "message": "text_sent", "PaymentId": other})),
            event("c", ms, f"a plain line naming {mine}"),
            event("d", ms, json.dumps({"level": "INFO", "message": f"names {mine} but is not about it"})),
            event(
                "f", ms - 1, json.dumps({"level": "INFO", "message": "text_sent", "PaymentId": mine})
            ),  # before start
        ],
        "/aws/lambda/p-start-payment": [
            event(
                "e",
                ms,
                json.dumps(
                    {
                        "level": "INFO",
                        "message": "payment_accepted",
                        "PaymentId": mine,
                        "timestamp": "2026-11-30 01:02:04,000+0000",
                    }
                ),
            ),
        ],
    }
    groups = {
        "send_text": "/aws/lambda/p-send-text",
        "start_payment": "/aws/lambda/p-start-payment",
        "get_balance": "/aws/lambda/p-get-balance",
    }  # never invoked: no group yet
    lines = trace.lines_with(FakeLogs(stored), groups, AT, mine, {"PaymentId": mine})
    assert sorted((line.source, line.text) for line in lines) == [
        ("send_text", f"INFO text_sent PaymentId={mine}"),
        ("start_payment", f"INFO payment_accepted PaymentId={mine}"),
    ]


def test_a_key_holding_a_quote_is_found_although_cloudwatch_cannot_filter_on_it():
    key = 'bills-due/"final" day.csv'
    line = json.dumps({"level": "INFO", "message": "ingest_summary", "bucket": "b", "key": key}, ensure_ascii=False)
    stored = {"/aws/lambda/p-ingest-bills": [event("a", int(AT.timestamp() * 1000), line)]}
    lines = trace.lines_with(
        FakeLogs(stored), {"ingest_bills": "/aws/lambda/p-ingest-bills"}, AT, key, {"bucket": "b", "key": key}
    )
    assert [line.text for line in lines] == ['INFO ingest_summary bucket=b key="bills-due/\\"final\\" day.csv"']


def test_the_record_says_its_status_and_when_it_reached_each_step():
    item = {
        "Status": "notified",
        "CreatedAt": "2026-11-30T01:02:03Z",
        "PaidAt": "2026-11-30T01:02:09Z",
        "NotifiedAt": "2026-11-30T01:02:10Z",
    }
    assert trace.record_text(item) == (
        "status notified; created 2026-11-30T01:02:03Z, paid 2026-11-30T01:02:09Z, notified 2026-11-30T01:02:10Z"
    )
    failed = {
        "Status": "failed",
        "Reason": "PaymentRejected: invoice 7 is already paid",
        "CreatedAt": "2026-11-30T01:02:03Z",
        "FailedAt": "2026-11-30T01:02:09Z",
    }
    assert trace.record_text(failed) == (
        "status failed (PaymentRejected: invoice 7 is already paid); "
        "created 2026-11-30T01:02:03Z, failed 2026-11-30T01:02:09Z"
    )


def test_the_alerts_say_each_channels_state_its_error_and_what_the_outbox_holds():
    item = {"Notifications": {"text": "failed", "email": "sent"}, "NotificationErrors": {"text": "SNS: throttled"}}
    assert trace.alerts_text(item, {}) == "email sent; text failed (SNS: throttled)"
    assert trace.alerts_text(item, {"email": ["to a@example.com at 2026-11-30T01:02:10"], "text": []}) == (
        "email sent [outbox: to a@example.com at 2026-11-30T01:02:10]; text failed (SNS: throttled) [outbox: nothing]"
    )
    assert trace.alerts_text({"Notifications": {}}, {}) == "none chosen"


class FakeQueue:
    """The ingest failures queue holding the recorded failure record once, as SQS answers receive_message."""

    def __init__(self, bodies: list[str]):
        self.messages = [{"MessageId": str(n), "ReceiptHandle": str(n), "Body": body} for n, body in enumerate(bodies)]
        self.shown_again: list[str] = []

    def receive_message(self, **_):
        unseen = [m for m in self.messages if m["MessageId"] not in self.shown_again]
        self.shown_again += [m["MessageId"] for m in unseen]
        return {"Messages": unseen}

    def change_message_visibility(self, ReceiptHandle, **_):
        pass


def test_a_failure_record_of_the_file_is_part_of_its_story_and_one_of_another_file_is_not():
    record = json.loads(FAILURE_RECORD)
    longer = json.loads(FAILURE_RECORD)
    longer["requestPayload"]["Records"][0]["s3"]["object"]["key"] = "bills-due/poison-1.csv.old"
    queue = FakeQueue([json.dumps(record), json.dumps(longer)])
    [line] = trace.failure_lines(queue, "url", ["payproc-bills-due/bills-due/poison-1.csv"])
    assert line.source == "failures" and line.time == trace.parse_time(record["timestamp"])
    assert line.text.startswith("RetriesExhausted after 3 attempt(s) of payproc-ingest-bills: InvalidObjectState:")
