"""payproc.aws's reading of DynamoDB's errors: which mean "read again and retry", which "try the same later"."""

import pytest
from botocore.exceptions import ClientError

from payproc import aws


def error(code: str, *reasons: str | None) -> ClientError:
    response = {"Error": {"Code": code, "Message": "x"}}
    if reasons:
        response["CancellationReasons"] = [{"Code": reason} if reason else {} for reason in reasons]
    return ClientError(response, "TransactWriteItems")


@pytest.mark.parametrize(
    ("failure", "conflict", "transient"),
    [
        (error("ConditionalCheckFailedException"), True, False),
        (error("TransactionConflictException"), True, True),
        (error("ProvisionedThroughputExceededException"), False, True),
        (error("ValidationException"), False, False),
        (error(aws.CANCELLED, "None", "ConditionalCheckFailed"), True, False),
        (error(aws.CANCELLED, "TransactionConflict", None), True, True),
        (error(aws.CANCELLED, "ConditionalCheckFailed", "ValidationError"), False, False),
        (error(aws.CANCELLED, "ThrottlingError", "None"), False, True),
        (error(aws.CANCELLED), False, False),
    ],
)
def test_each_error_is_a_conflict_transient_both_or_neither(failure, conflict, transient):
    assert (aws.is_conflict(failure), aws.is_transient(failure)) == (conflict, transient)


def test_cancellation_reasons_leave_out_the_actions_that_were_fine():
    assert aws.cancellation_reasons(error(aws.CANCELLED, "None", "ConditionalCheckFailed", None)) == {
        "ConditionalCheckFailed"
    }


def test_back_off_waits_longer_caps_and_jitters():
    waits = [[] for _ in range(12)]
    for attempt, seen in enumerate(waits):
        for _ in range(200):
            aws.back_off(attempt, seen.append)
    assert all(0 <= wait <= min(2.0, 0.05 * 2**attempt) for attempt, seen in enumerate(waits) for wait in seen)
    assert max(waits[0]) < 0.05 < max(waits[6]) and len(set(waits[11])) > 100  # grows, then spread under the cap
