"""`make logs` and `make trace` against the deployed stack, run as a user runs them after paying through the API or
uploading a file: what they print, and in which order."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import threading
from decimal import Decimal

from ops import failures
from tests.helpers.stack import (
    ENDPOINT,
    GOOD_CARD,
    REPO,
    Bucket,
    change_bill,
    make,
    payment_body,
    unique_invoice_id,
    wait_for,
)

# "time  source  text" as both tools print a step: ISO 8601 UTC to the millisecond, the source padded.
STEP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)  (\S+) +(.*)$")
HEADER = "InvoiceID,CustomerName,Balance,IsProcessed\n"


def steps(output: str) -> list[tuple[str, str, str]]:
    """The (time, source, text) of each printed step; headings, closing lines and indented continuations are not."""
    return [match.groups() for line in output.splitlines() if (match := STEP.match(line))]


def position(story: list[tuple[str, str, str]], source: str, text: str) -> int:
    """Where the first step of this source whose text starts so is; fails naming it when there is none."""
    found = [n for n, (_, src, txt) in enumerate(story) if src == source and txt.startswith(text)]
    assert found, f"no {source} step starting {text!r} in {story}"
    return found[0]


class Unfinished(str):
    """A tool's output that lacks a step still to come: no answer yet to wait_for, and printed whole when the wait
    times out, so a failed run says which steps did come."""

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"the output\n{self}"


def told(*args: str, until: tuple[str, ...]) -> str:
    """The output of make with these arguments once it holds every string of `until` (CloudWatch Logs gets an
    invocation's lines when it ends, so the last function's may come after the payment settled)."""

    def complete():
        result = make(*args, timeout=120)
        assert result.returncode in (0, 1), result.stderr
        return result.stdout if all(text in result.stdout for text in until) else Unfinished(result.stdout)

    return wait_for(complete, timeout=60, interval=1)


def test_a_payments_trace_tells_its_request_execution_functions_record_and_alerts_in_order(api, bill):
    created = bill(balance="60.25")
    body = payment_body(created, Choices="both", WaitSeconds=1)
    payment_id = api.pay(body).json()["PaymentId"]
    assert api.wait_until_settled(payment_id)["Status"] == "notified"

    output = told("trace", f"PAYMENT={payment_id}", until=("ExecutionSucceeded", "email_sent", "text_sent"))
    story = steps(output)
    assert [time for time, _, _ in story] == sorted(time for time, _, _ in story)
    assert output.splitlines()[0] == (
        f"payment {payment_id}: invoice {created['InvoiceID']}, 60.25, Visa ending 1111, alerts both"
    )
    started = position(story, "workflow", "ExecutionStarted")
    accepted = position(story, "start_payment", "INFO payment_accepted")
    processing = position(story, "workflow", "ProcessPayment (Task)")
    committed = position(story, "process_payment", "INFO payment_committed")
    alerting = position(story, "workflow", "SendAlerts (Map)")
    emailed, texted = position(story, "send_email", "INFO email_sent"), position(story, "send_text", "INFO text_sent")
    done = position(story, "workflow", "ExecutionSucceeded")
    assert started < processing and accepted < processing < committed < alerting < min(emailed, texted)
    assert max(emailed, texted) < done
    # Every function line is this payment's, and names it.
    assert all(f"PaymentId={payment_id}" in text for _, source, text in story if source != "workflow")
    assert f"invoice_id={created['InvoiceID']} amount=60.25" in story[accepted][2]

    record, alerts = output.splitlines()[-2:]
    assert re.fullmatch(r"record  status notified; created \S+Z, paid \S+Z, notified \S+Z", record), record
    assert alerts.startswith(f"alerts  email sent [outbox: to {body['EmailId']} at ")
    assert alerts.endswith(f"; text sent [outbox: to {body['PhnNumber']}]")
    assert GOOD_CARD not in output


def test_a_refused_payments_trace_says_why_in_its_execution_its_functions_and_its_record(api, bill, aws, deployment):
    created = bill(balance="8.00")
    payment_id = api.pay(payment_body(created, Choices="email", WaitSeconds=2)).json()["PaymentId"]
    change_bill(aws, deployment, created["InvoiceID"], Balance=Decimal("9.00"))  # the bill changes while it waits
    assert api.wait_until_settled(payment_id)["Status"] == "failed"

    output = told("trace", f"PAYMENT={payment_id}", until=("ExecutionFailed", "failure_recorded"))
    story = steps(output)
    rejected = position(story, "process_payment", "INFO payment_rejected")
    failed_task = position(story, "workflow", "LambdaFunctionFailed PaymentRejected: ")
    recording = position(story, "workflow", "RecordPaymentFailure (Task)")
    recorded = position(story, "record_failure", "INFO failure_recorded")
    ended = position(story, "workflow", "ExecutionFailed PaymentFailed: the payment was not committed")
    assert rejected < failed_task < recording < recorded < ended
    assert not any(source in ("send_email", "send_text") for _, source, _ in story)
    assert re.fullmatch(
        r"record  status failed \(PaymentRejected: .+\); created \S+Z, failed \S+Z", output.splitlines()[-2]
    ), output.splitlines()[-2]
    assert output.splitlines()[-1] == "alerts  email pending [outbox: nothing]"


def test_a_files_trace_shows_its_upload_each_chunk_the_summary_and_its_rejected_rows(aws, deployment):
    first = unique_invoice_id()
    key = f"bills-due/traced {first}.csv"  # a space, as a spreadsheet's file name has
    bills = Bucket(aws.client("s3"), deployment["bills_bucket"])
    bills.upload(key, f"{HEADER}{first},Traced Row,12.00,0\n{first + 1},Bad Amount,12.001,0\n")
    wait_for(lambda: bills.rejected_rows(key))

    output = told("trace", f"KEY={key}", until=("ingest_summary",))
    story = steps(output)
    assert [time for time, _, _ in story] == sorted(time for time, _, _ in story)
    size = len(f"{HEADER}{first},Traced Row,12.00,0\n{first + 1},Bad Amount,12.001,0\n")
    assert output.splitlines()[0].startswith(f"file s3://{deployment['bills_bucket']}/{key}: {size} bytes, ETag ")
    uploaded = position(story, "s3", "uploaded")
    chunk = position(story, "ingest_bills", "INFO ingest_chunk")
    summary = position(story, "ingest_bills", "INFO ingest_summary")
    assert uploaded < chunk < summary
    assert all(
        f'bucket={deployment["bills_bucket"]} key="{key}"' in text
        for _, source, text in story
        if source == "ingest_bills"
    )
    assert '"read":2,"created":1,' in story[summary][2] and '"rejected":1,' in story[summary][2]
    assert not any(source == "failures" for _, source, _ in story)
    report, row = output.splitlines()[-2:]
    assert report.startswith(f"report  s3://{deployment['bills_bucket']}/{key}.rejected.jsonl, written ")
    assert report.endswith(": 1 rejected row(s)") and row.startswith("  line 3: Balance must be ")


def forget_failure_records(aws, deployment, name: str) -> None:
    """Remove this object's records from the failure queue, so no later redrive replays them."""
    sqs, url = aws.client("sqs"), deployment["ingest_failures_queue_url"]
    kept = []
    for message in failures.receive_all(sqs, url, failures.LIST_HIDE_S):
        if any(o.startswith(f"{name} ") for o in failures.describe(json.loads(message["Body"])).objects):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        else:
            kept.append(message)
    failures.show_again(sqs, url, kept)


def test_a_file_that_failed_every_attempt_has_its_failure_record_in_its_trace(aws, deployment, request):
    s3, bucket = aws.client("s3"), deployment["bills_bucket"]
    key = f"bills-due/archived-trace-{unique_invoice_id()}.csv"
    request.addfinalizer(lambda: forget_failure_records(aws, deployment, f"{bucket}/{key}"))
    request.addfinalizer(lambda: s3.delete_object(Bucket=bucket, Key=key))
    # S3 refuses to read a GLACIER object, so every attempt fails (tests/integration/test_failures.py).
    s3.put_object(Bucket=bucket, Key=key, StorageClass="GLACIER", Body=f"{HEADER}1,Archived,1.00,0\n".encode())

    output = told("trace", f"KEY={key}", until=("RetriesExhausted",))
    story = steps(output)
    uploaded = position(story, "s3", "uploaded")
    function = deployment["function_names"]["ingest_bills"]
    failed = position(story, "failures", f"RetriesExhausted after 3 attempt(s) of {function}: InvalidObjectState")
    assert uploaded < failed


def test_make_logs_once_prints_the_lines_of_the_functions_just_invoked_each_prefixed_by_its_name(api, bill):
    payment_id = api.pay(payment_body(bill(balance="3.50"), Choices="email", WaitSeconds=1)).json()["PaymentId"]
    assert api.wait_until_settled(payment_id)["Status"] == "notified"

    output = told("logs", "ONCE=1", "SINCE=5m", until=(f"payment_committed PaymentId={payment_id}",))
    mine = [(source, text.split(" ")[1]) for _, source, text in steps(output) if f"PaymentId={payment_id}" in text]
    assert ("start_payment", "payment_accepted") in mine and ("process_payment", "payment_committed") in mine
    assert "\033[" not in output  # not a terminal: no colour
    assert '"function_arn"' not in output  # powertools' lines are shown readably, not as their JSON

    one = told("logs", "FN=start_payment", "ONCE=1", "SINCE=5m", until=(f"payment_accepted PaymentId={payment_id}",))
    assert {source for _, source, _ in steps(one)} == {"start_payment"}


def test_make_logs_follows_new_lines_until_ctrl_c(api, bill):
    follower = subprocess.Popen(
        ["make", "-s", "logs", "FN=start_payment", "SINCE=1s"],
        cwd=REPO,
        env={**os.environ, "AWS_ENDPOINT_URL": ENDPOINT},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    printed: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [printed.put(line) for line in follower.stdout], daemon=True).start()
    lines: list[str] = []

    def shown(payment_id: str) -> bool:
        lines.extend(drain(printed))
        return any(payment_id in line for line in lines)

    try:
        # The first may be read by its first look; the second comes after it was shown, so only following shows it.
        payment_ids = []
        for balance in ("4.75", "4.80"):
            payment_ids.append(api.pay(payment_body(bill(balance=balance), Choices="email")).json()["PaymentId"])
            wait_for(lambda: shown(payment_ids[-1]), timeout=60)
        assert follower.poll() is None  # still following
    finally:
        os.killpg(follower.pid, signal.SIGINT)  # Ctrl-C, as a terminal sends it to the whole group
        follower.wait(timeout=30)
    for payment_id in payment_ids:
        [(_, source, text)] = [step for step in steps("".join(lines)) if payment_id in step[2]]
        assert source == "start_payment" and text.startswith(f"INFO payment_accepted PaymentId={payment_id} ")
    assert "Traceback" not in follower.stderr.read()  # Ctrl-C ends it quietly
    wait_for(lambda: not group_alive(follower.pid), timeout=10)


def drain(lines: queue.Queue) -> list[str]:
    found = []
    while not lines.empty():
        found.append(lines.get_nowait())
    return found


def group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True
