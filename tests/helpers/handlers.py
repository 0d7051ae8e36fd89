"""Helpers of the unit tests of payproc and the functions (bills, balances, payments).

Handlers are loaded by file path with importlib under a unique module name (`handler_<function>`), because every
function's module is called handler.py; they import only payproc, which is on the path (pythonpath = lib).
"""

from __future__ import annotations

import importlib.util
import json
import sys
import urllib.parse
import uuid
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
from moto import mock_aws

from payproc import aws
from payproc.config import reload_settings
from payproc.payments import payment_id_for

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
BALANCE_TABLE = "test-PaymentBalance"
PAYMENTS_TABLE = "test-Payments"
LIMITS_TABLE = "test-ClientLimits"
BILLS_BUCKET = "test-bills-due"
SENDER = "billing@example.com"
CARD_FINGERPRINT_KEY_PARAMETER = "/test/card-fingerprint-key"
ORIGIN = "http://localhost:8080"

CARD = "4111111111111111"
# What the original tutorial's page posts: every field as its inputs hold it (strings), WaitSeconds 10, no
# Idempotency-Key.
TUTORIAL_PAGE_BODY = {
    "InvoiceID": "17",
    "BillersName": "Ada Lovelace",
    "BillingAmount": "125.50",
    "CardNumber": CARD,
    "ExpiryDate": "12/39",
    "EmailId": "ada@example.com",
    "PhnNumber": "+15551234567",
    "Choices": "email",
    "WaitSeconds": 10,
}


def load_handler(function: str) -> ModuleType:
    """Import functions/<function>/handler.py as module handler_<function> (fresh each call)."""
    path = REPO / "functions" / function / "handler.py"
    name = f"handler_{function}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def mocked_aws():
    """moto's mock_aws keeping boto3's default session from test to test: by default moto starts each mock with a new
    one, which loads botocore's service models again (about half of the unit tests' CPU). What that session resolves
    is the same in every unit test: tests/unit/conftest.py's fake credentials and region."""
    return mock_aws(config={"core": {"reset_boto3_session": False}})


def use_mock_environment(monkeypatch: Any, **extra: str) -> None:
    """Set the functions' env vars (tests/unit/conftest.py points boto3 at moto) and forget cached settings and
    clients."""
    for name, value in {
        "BALANCE_TABLE": BALANCE_TABLE,
        "PAYMENTS_TABLE": PAYMENTS_TABLE,
        "LIMITS_TABLE": LIMITS_TABLE,
        "SENDER_EMAIL": SENDER,
        "ALLOWED_ORIGIN": ORIGIN,
        "PAYMENT_WAIT_SECONDS": "3",
        "CARD_FINGERPRINT_KEY_PARAMETER": CARD_FINGERPRINT_KEY_PARAMETER,
        **extra,
    }.items():
        monkeypatch.setenv(name, value)
    reload_settings()
    aws.reset()


def create_tables() -> None:
    """The balance, payments and client limits tables as the contract defines them."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(
        TableName=BALANCE_TABLE,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "InvoiceID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "InvoiceID", "AttributeType": "N"}],
    )
    dynamodb.create_table(
        TableName=PAYMENTS_TABLE,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "PaymentId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PaymentId", "AttributeType": "S"}],
    )
    dynamodb.create_table(
        TableName=LIMITS_TABLE,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "Counter", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "Counter", "AttributeType": "S"}],
    )


EVENTS = REPO / "tests" / "events"  # recorded from the local stack
RECORDED_API_REQUESTS = {"GET": "api_gateway_get_balance.json", "POST": "api_gateway_start_payment.json"}
REQUEST_SPECIFIC_HEADERS = {"idempotency-key", "content-type"}


def recorded_event(name: str) -> dict[str, Any]:
    """An event as the local stack delivered it (tests/events/<name>), fresh for each call."""
    return json.loads((EVENTS / name).read_text())


def api_event(
    method: str,
    path: str,
    body: str | None = None,
    headers: dict[str, str] | None = None,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event: a recorded request of that method (its request context, its client's headers)
    with this request's path, headers, body and parameters."""
    event = recorded_event(RECORDED_API_REQUESTS[method])
    kept = {name: value for name, value in event["headers"].items() if name.lower() not in REQUEST_SPECIFIC_HEADERS}
    all_headers = {**kept, **(headers or {})}
    event |= {
        "httpMethod": method,
        "path": path,
        "resource": path,
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "body": body,
        "pathParameters": path_parameters,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {name: [value] for name, value in query.items()} if query else None,
        "isBase64Encoded": False,
    }
    event["requestContext"] |= {"httpMethod": method, "path": f"/{event['requestContext']['stage']}{path}"}
    return event


def s3_event(bucket: str, key: str, etag: str, size: int) -> dict[str, Any]:
    """The S3 notification of one upload, as recorded (key URL-encoded as S3 sends it, '+' for a space)."""
    event = recorded_event("s3_object_created.json")
    [record] = event["Records"]
    record["s3"]["bucket"] |= {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"}
    record["s3"]["object"] |= {"key": urllib.parse.quote_plus(key, safe="/"), "eTag": etag.strip('"'), "size": size}
    return event


class FakeContext:
    """A Lambda context (the attributes AWS's runtime gives a handler) with a controllable clock."""

    def __init__(self, remaining_ms: int = 300_000, function_name: str = "test-function"):
        self.remaining_ms = remaining_ms
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{function_name}"
        self.memory_limit_in_mb = "128"
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


# --- another writer at an exact moment, and DynamoDB's transient errors (moto has neither) ---------------------------


def after_next_call(client: Any, operation: str, action: Any, when: Any = lambda parsed: True) -> None:
    """Run action() once, right after the client's next `operation` call whose answer satisfies when(parsed): another
    writer acting at exactly that moment, e.g. a payment committing between ingestion's read and its write."""
    event, fired = f"after-call.dynamodb.{operation}", []

    def once(parsed: dict, **_: Any) -> None:
        if not fired and when(parsed):
            fired.append(True)
            action()

    client.meta.events.register(event, once)


class _ErrorStatus:
    status_code = 400


def fail_next_call(client: Any, operation: str, code: str, reasons: tuple[str, ...] = ()) -> None:
    """The client's next `operation` call answers `code` (with these transaction cancellation reasons) without
    reaching DynamoDB: botocore's before-call event lets a handler answer in the service's place."""
    event, fired = f"before-call.dynamodb.{operation}", []

    def answer(**_: Any) -> tuple[Any, dict] | None:
        if fired:
            return None
        fired.append(True)
        error = {"Error": {"Code": code, "Message": f"injected {code}"}, "ResponseMetadata": {"HTTPStatusCode": 400}}
        if reasons:
            error["CancellationReasons"] = [{"Code": reason} for reason in reasons]
        return _ErrorStatus(), error

    client.meta.events.register(event, answer)


# --- the payment functions (tests/unit/conftest.py's payments_aws fixture) ---


def step_functions_down(item):
    """A stand-in for payment_intake.start_workflow while Step Functions is down."""
    raise RuntimeError("Step Functions is down")


def balance_table():
    return boto3.resource("dynamodb", region_name=REGION).Table(BALANCE_TABLE)


def payments_table():
    return boto3.resource("dynamodb", region_name=REGION).Table(PAYMENTS_TABLE)


def put_bill(invoice_id=17, balance="125.50", processed=0, name="Ada Lovelace"):
    balance_table().put_item(
        Item={"InvoiceID": invoice_id, "CustomerName": name, "Balance": Decimal(balance), "IsProcessed": processed}
    )


def pay_event(key="key-1", **overrides):
    """POST /paymentbalance as a JSON client sends it: the tutorial page's fields, but the invoice id a number, both
    alerts and no WaitSeconds."""
    body = {name: value for name, value in TUTORIAL_PAGE_BODY.items() if name != "WaitSeconds"}
    body |= {"InvoiceID": 17, "Choices": "both"}
    body.update(overrides)
    headers = {"idempotency-key": key} if key else {}
    return api_event("POST", "/paymentbalance", json.dumps(body), headers)


def answer(response):
    return response["statusCode"], json.loads(response["body"])


def accepted_payment(payments_aws, choices="both", key=None, card=CARD):
    """The workflow input of a payment of invoice 17 that start_payment accepted (with this card)."""
    key = key or str(uuid.uuid4())
    put_bill()
    status, body = answer(
        load_handler("start_payment").handler(pay_event(key=key, Choices=choices, CardNumber=card), FakeContext())
    )
    assert status == 202, body
    executions = payments_aws["sfn"].list_executions(stateMachineArn=payments_aws["arn"])["executions"]
    execution = next(e for e in executions if e["name"] == payment_id_for(key))
    return json.loads(payments_aws["sfn"].describe_execution(executionArn=execution["executionArn"])["input"])
