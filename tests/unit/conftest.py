"""The unit tests' environment: moto's AWS settings for every test (never a stack's endpoint); the powertools
settings Terraform gives every function, set before payproc.telemetry is first imported (its Logger, Metrics and
Tracer read them once, as in a Lambda container); and what the functions log and count, read back."""

from __future__ import annotations

import io
import json
import os
import warnings
from typing import Any, Callable

import boto3
import pytest

os.environ.update(
    POWERTOOLS_SERVICE_NAME="payproc-test", POWERTOOLS_METRICS_NAMESPACE="PayprocTest", POWERTOOLS_TRACE_DISABLED="true"
)

from payproc.config import reload_settings  # noqa: E402
from payproc.telemetry import EMPTY_FLUSH_WARNING, logger, metrics  # noqa: E402
from tests.helpers.handlers import (  # noqa: E402
    mocked_aws,
    CARD_FINGERPRINT_KEY_PARAMETER,
    REGION,
    SENDER,
    create_tables,
    use_mock_environment,
)


MOTO_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(autouse=True)
def never_the_stack(monkeypatch):
    """moto answers only AWS's own endpoints, and a unit test must never reach a stack or AWS: no endpoint (`make`
    exports the stack's to every command), fake keys."""
    for name in [name for name in os.environ if name.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(name)
    for name, value in MOTO_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(autouse=True)
def telemetry_as_in_lambda():
    """payproc.telemetry's warning filter again (pytest resets the filters set while it collected), and no metric
    of a counting function called outside a handler left unflushed for the next test."""
    warnings.filterwarnings("ignore", message=EMPTY_FLUSH_WARNING, category=UserWarning)
    yield
    metrics.clear_metrics()


@pytest.fixture
def log_lines() -> Callable[[], list[dict[str, Any]]]:
    """The JSON log lines written so far in the test (the logger's handler keeps the stdout it found at import)."""
    stream = io.StringIO()
    previous = logger.registered_handler.setStream(stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.registered_handler.setStream(previous)


@pytest.fixture
def metric_documents(capsys) -> Callable[[], list[dict[str, Any]]]:
    """The EMF documents printed since the last call (one per invocation that counted something)."""
    return lambda: [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]


@pytest.fixture
def payments_aws(monkeypatch):
    """The AWS the payment functions see, under moto: both tables, the state machine (one Pass state), the sender's SES
    identity and the card fingerprint secret; yields the Step Functions client and the state machine's ARN."""
    use_mock_environment(monkeypatch)
    with mocked_aws():
        create_tables()
        sfn = boto3.client("stepfunctions", region_name=REGION)
        definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})
        arn = sfn.create_state_machine(
            name="test-payment", roleArn="arn:aws:iam::123456789012:role/sfn", definition=definition
        )["stateMachineArn"]
        monkeypatch.setenv("STATE_MACHINE_ARN", arn)
        reload_settings()
        boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=SENDER)
        boto3.client("ssm", region_name=REGION).put_parameter(
            Name=CARD_FINGERPRINT_KEY_PARAMETER, Value="a-test-secret", Type="SecureString"
        )
        yield {"sfn": sfn, "arn": arn}
