"""Faults injected into the deployed stack while it works: an alert channel down, the ingesting function killed in the
middle of a file, the processing step killed around its commit. Every injection is undone before the test ends."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from decimal import Decimal

import pytest
from payproc.payments import payment_id_for  # the id a key names: the proxy knows the payment before it exists

from tests.helpers.faults import KillingDynamoDBProxy, busiest, kill, runtime_processes
from tests.helpers.reliability import (
    balance_item,
    finished_execution,
    payment_record,
    payments_of_invoice,
    task_failures,
)
from tests.helpers.stack import (
    function_environment,
    payment_body,
    sent_emails,
    sent_texts,
    summaries_in_logs,
    unique_invoice_id,
    wait_for,
)

DEAD_ENDPOINT = "http://127.0.0.1:9"  # discard port: nothing listens, connections are refused


@contextlib.contextmanager
def sms_down(aws, deployment):
    """send_text's SNS endpoint points at a dead port (its configuration is restored after)."""
    with function_environment(aws, deployment["function_names"]["send_text"], AWS_ENDPOINT_URL_SNS=DEAD_ENDPOINT):
        yield


@contextlib.contextmanager
def sender_unverified(aws, deployment):
    """The SES sender identity is deleted, so SES rejects the receipt (re-verified after)."""
    lam, ses = aws.client("lambda"), aws.client("ses")
    config = lam.get_function_configuration(FunctionName=deployment["function_names"]["send_email"])
    sender = config["Environment"]["Variables"]["SENDER_EMAIL"]
    ses.delete_identity(Identity=sender)
    try:
        yield
    finally:
        ses.verify_email_identity(EmailAddress=sender)
        assert sender in ses.list_identities()["Identities"]


ALERT_FAULTS = {"text": sms_down, "email": sender_unverified}


@pytest.mark.parametrize("broken", ["text", "email"])
def test_a_failed_alert_leaves_the_payment_paid_and_says_why(api, bill, aws, deployment, figures, broken):
    working = {"text": "email", "email": "text"}[broken]
    created = bill(balance="64.00")
    body = payment_body(created, Choices="both")
    with ALERT_FAULTS[broken](aws, deployment):
        figures.fault(f"{broken} alert channel down")
        accepted = api.pay(body)
        assert accepted.status_code == 202, accepted.text
        payment_id = accepted.json()["PaymentId"]

        def alert_failure_recorded():
            shown = api.status(payment_id).json()
            return shown if shown["Notifications"].get(broken) == "failed" else None

        shown = wait_for(alert_failure_recorded, timeout=90, interval=0.5)

    assert shown["Status"] == "paid", shown  # committed, and never undone by a failed alert
    assert shown["NotificationErrors"][broken], shown
    settled = wait_for(
        lambda: (s := api.status(payment_id).json())["Notifications"].get(working) == "sent" and s, timeout=60
    )
    assert settled["Status"] == "paid" and settled["Notifications"] == {broken: "failed", working: "sent"}
    execution = finished_execution(aws, payment_record(aws, deployment, payment_id)["ExecutionArn"])
    assert execution["status"] == "SUCCEEDED", execution  # a defined end: Done, after recording the failure
    assert api.balance(created["InvoiceID"]).json() == {
        **api.balance(created["InvoiceID"]).json(),
        "Balance": "0.00",
        "IsProcessed": 1,
    }
    sent = {"email": sent_emails(body["EmailId"]), "text": sent_texts(body["PhnNumber"])}
    assert len(sent[working]) == 1 and sent[broken] == []


@pytest.mark.parametrize("after_commit", [False, True], ids=["before-commit", "after-commit"])
def test_the_processing_step_killed_around_its_commit_is_retried_and_charges_once(
    api, bill, aws, deployment, figures, after_commit
):
    """process_payment's runtime process is killed while its transaction is in flight (before DynamoDB gets it, or
    after DynamoDB committed it but before the answer is back): the workflow retries the step, which commits once or
    finds its own commit, and the payment goes on to its alerts."""
    function = deployment["function_names"]["process_payment"]
    created = bill(balance="88.80")
    body = payment_body(created, Choices="text")
    key = str(uuid.uuid4())

    with KillingDynamoDBProxy(function, marker=payment_id_for(key), after_commit=after_commit) as proxy:
        with function_environment(aws, function, AWS_ENDPOINT_URL_DYNAMODB=proxy.url):
            figures.fault(f"process_payment killed {'after' if after_commit else 'before'} its commit")
            accepted = api.pay(body, key)
            assert accepted.status_code == 202, accepted.text
            payment_id = accepted.json()["PaymentId"]
            settled = api.wait_until_settled(payment_id, timeout=120)
        assert proxy.killed and all(pid > 0 for pid in proxy.killed), "the fault was not injected"

    execution_arn = payment_record(aws, deployment, payment_id)["ExecutionArn"]
    failures = task_failures(aws, execution_arn)
    assert any("Runtime.ExitError" in json.dumps(f) for f in failures), failures  # the kill reached the workflow
    assert settled["Status"] == "notified", settled
    assert finished_execution(aws, execution_arn)["status"] == "SUCCEEDED"
    records = payments_of_invoice(aws, deployment, created["InvoiceID"])
    assert [r["PaymentId"] for r in records] == [payment_id]  # exactly one ledger record
    invoice = balance_item(aws, deployment, created["InvoiceID"])
    assert invoice["Balance"] == 0 and invoice["IsProcessed"] == 1 and invoice["LastPaymentId"] == payment_id
    assert len(sent_texts(body["PhnNumber"])) == 1


INGEST_ROWS = 8_000  # the kill lands after about 400 rows are written (run figures: written_before_kill)


def test_the_ingesting_function_killed_mid_file_is_retried_and_loses_and_doubles_nothing(aws, deployment, figures):
    """The runtime process running the upload's invoke is killed mid-file; LocalStack retries the asynchronous
    S3 event (after LAMBDA_RETRY_BASE_DELAY: 1 s on our stack, 60 s by default) and the retry completes the file."""
    function = deployment["function_names"]["ingest_bills"]
    first = unique_invoice_id()  # the next INGEST_ROWS ids: 80 of the 10**12 hundreds unique_invoice_id draws from
    ids = range(first, first + INGEST_ROWS)
    bad_line = 1 + INGEST_ROWS // 2  # one rejected row in the middle, to see the report is not doubled
    rows = [
        f"{i},Customer {i},{i % 1000}.{i % 100:02d},0" if n + 2 != bad_line else f"{i},Bad Row,1.001,0"
        for n, i in enumerate(ids)
    ]
    key = f"bills-due/reliability-killed-{uuid.uuid4().hex[:8]}.csv"
    since_ms = int(time.time() * 1000)
    aws.client("s3").put_object(
        Bucket=deployment["bills_bucket"],
        Key=key,
        Body=("InvoiceID,CustomerName,Balance,IsProcessed\n" + "\n".join(rows) + "\n").encode(),
    )

    wait_for(lambda: balance_item(aws, deployment, ids[0]), timeout=60, interval=0.05)  # the run has begun
    # On a loaded machine the process may spend a whole sample waiting on the stack: sample until one is seen busy.
    victim = wait_for(lambda: busiest(runtime_processes(function), sample_seconds=0.2), timeout=30, interval=0)
    kill(victim)
    figures.fault("ingest_bills runtime process killed mid-file")
    assert balance_item(aws, deployment, ids[-1]) is None, "the file was complete before the kill: nothing tested"

    # Well inside the 300 s a test may take, so a retry that never comes fails here, with its reason.
    summaries = wait_for(lambda: summaries_in_logs(aws, deployment, key, since_ms), timeout=150, interval=2)
    assert len(summaries) == 1, summaries  # the killed run never finished; the retry did, once
    summary = summaries[0]
    figures.add("inputs:csv_rows", INGEST_ROWS)

    table = aws.resource("dynamodb").meta.client
    stored = {}
    for start in range(0, INGEST_ROWS, 100):
        batch = [{"InvoiceID": i} for i in ids[start : start + 100]]
        answer = table.batch_get_item(
            RequestItems={deployment["balance_table"]: {"Keys": batch, "ConsistentRead": True}}
        )
        stored.update({int(item["InvoiceID"]): item for item in answer["Responses"][deployment["balance_table"]]})
    bad_id = ids[bad_line - 2]
    assert bad_id not in stored
    missing = [i for i in ids if i != bad_id and i not in stored]
    assert missing == [], f"{len(missing)} rows lost"
    assert all(stored[i]["Balance"] == Decimal(f"{i % 1000}.{i % 100:02d}") for i in stored)

    # Nothing doubled: the retry skipped what the killed run had written, and reports the bad row once.
    assert summary["rejected"] == 1 and summary["read"] == INGEST_ROWS
    assert summary["created"] + summary["skipped_unchanged"] == INGEST_ROWS - 1, summary
    assert summary["skipped_unchanged"] > 0, summary  # rows written before the kill were found, not re-written
    report = aws.client("s3").get_object(Bucket=deployment["bills_bucket"], Key=key + ".rejected.jsonl")
    assert [json.loads(line)["line"] for line in report["Body"].read().decode().splitlines()] == [bad_line]
    figures.check(
        "ingest_killed_mid_file",
        {
            "rows": INGEST_ROWS,
            "written_before_kill": summary["skipped_unchanged"],
            "written_by_retry": summary["created"],
            "lost": 0,
        },
    )
