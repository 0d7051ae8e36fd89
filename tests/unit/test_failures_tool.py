"""ops.failures reads Lambda's on-failure records (tests/events holds one recorded from the local stack)."""

from __future__ import annotations


from ops import failures
from tests.helpers.handlers import recorded_event

RECORD = recorded_event("ingest_bills_failure_record.json")


def test_a_failed_upload_says_which_file_which_function_and_why():
    failure = failures.describe(RECORD)
    assert failure.function == "payproc-ingest-bills"
    assert failure.function_arn.endswith(":function:payproc-ingest-bills:$LATEST")
    assert (failure.condition, failure.attempts) == ("RetriesExhausted", 3)
    assert failure.objects == [
        "payproc-bills-due/bills-due/poison-1.csv (etag 7be9eca0c35353b7b9beec93c50d060a, version None)"
    ]
    assert failure.error.startswith("InvalidObjectState: An error occurred (InvalidObjectState)")
    assert failure.payload == RECORD["requestPayload"]  # what a redrive sends, unchanged


def test_a_failed_chunk_continuation_names_its_file_and_offset():
    job = {"bucket": "b", "key": "bills-due/big.csv", "etag": "e1", "version_id": "v1", "offset": 4096, "line": 90}
    record = {
        **RECORD,
        "requestPayload": {"continuation": job},
        "requestContext": {**RECORD["requestContext"], "condition": "EventAgeExceeded", "approximateInvokeCount": 1},
    }
    failure = failures.describe(record)
    assert failure.objects == ["b/bills-due/big.csv (etag e1, version v1, from byte 4096)"]
    assert (failure.condition, failure.attempts) == ("EventAgeExceeded", 1)


def test_an_event_that_aged_out_without_running_has_no_error_payload():
    record = {
        **RECORD,
        "responsePayload": None,
        "requestContext": {**RECORD["requestContext"], "condition": "EventAgeExceeded", "approximateInvokeCount": 0},
    }
    assert failures.describe(record).error == "EventAgeExceeded"


def test_a_record_whose_function_is_gone_stays_in_the_queue():
    from botocore.exceptions import ClientError

    class GoneLambda:
        def invoke(self, **_):
            raise ClientError(
                {"Error": {"Code": "ResourceNotFoundException", "Message": "Function not found"}}, "Invoke"
            )

    assert failures.replay(GoneLambda(), failures.describe(RECORD)) == "ResourceNotFoundException: Function not found"
