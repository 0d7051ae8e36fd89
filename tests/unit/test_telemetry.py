"""payproc.telemetry's handler decorator: keys of one invocation never reach the next; an invocation that counts
nothing prints no warning."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from payproc.telemetry import instrumented, logger
from tests.helpers.handlers import FakeContext

REPO = Path(__file__).resolve().parents[2]


def test_keys_appended_in_one_invocation_are_gone_in_the_next(log_lines):
    @instrumented
    def handler(event, context):
        if "payment" in event:
            logger.append_keys(PaymentId=event["payment"])
        logger.info("step")

    handler({"payment": "p1"}, FakeContext())
    handler({}, FakeContext())
    first, second = log_lines()
    assert first["PaymentId"] == "p1" and "PaymentId" not in second
    assert first["function_request_id"] != second["function_request_id"]
    assert (first["cold_start"], second["cold_start"]) in ((True, False), (False, False))  # another test ran first


def test_an_invocation_that_counts_nothing_prints_no_warning():
    # In a fresh interpreter, as in a Lambda container: pytest resets warning filters set while it collects.
    script = (
        "import handler\n"
        "from tests.helpers.handlers import FakeContext\n"
        "event = {'pathParameters': {'PaymentId': 'not-an-id'}}\n"
        "assert handler.handler(event, FakeContext())['statusCode'] == 400\n"
    )
    run = subprocess.run(
        [sys.executable, "-W", "error::UserWarning", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env={
            "PATH": "/usr/bin:/bin",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "PYTHONPATH": f"{REPO / 'functions' / 'payment_status'}:{REPO / 'lib'}:{REPO}",
        },
    )
    assert run.returncode == 0, run.stderr
    assert "Warning" not in run.stderr and '"_aws"' not in run.stdout


def traced_modules(trace_disabled: str) -> str:
    """Which X-Ray modules a fresh interpreter has loaded after importing telemetry, and whether it has a tracer."""
    script = (
        "import sys\nfrom payproc import telemetry\n"
        "print(telemetry.tracer is not None, 'aws_xray_sdk' in sys.modules)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "POWERTOOLS_TRACE_DISABLED": trace_disabled, "PYTHONPATH": f"{REPO / 'lib'}"},
    )
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


def test_with_tracing_off_the_xray_sdk_is_not_even_imported():
    assert traced_modules("true") == "False False"  # about 65 ms of every cold start saved
    assert traced_modules("false") == "True True"
