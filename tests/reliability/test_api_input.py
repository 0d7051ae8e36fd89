"""Bad input on the public API: generated from api/openapi.yaml by schemathesis, then hand-written edge cases. Every
answer must be a documented one (status, content type, headers, body schema) and none a 5xx."""

from __future__ import annotations

import json
import re
import uuid

import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.helpers.reliability import payment_record, run_concurrently
from payproc.bills import masked_name
from tests.helpers.stack import GOOD_CARD, REPO, client_session, payment_body, unique_invoice_id

CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION_AND_MODE = 90  # 8 operations x 2 modes; small operations run out of distinct cases sooner
MIN_GENERATED_REQUESTS = 1000
FUZZ_CLIENTS = 8


@pytest.fixture(scope="module")
def schema():
    """api/openapi.yaml with Terraform's ${...} placeholders rendered (they only fill the gateway integrations)."""
    text = re.sub(r"\$\{[a-z_]+\}", "rendered-by-terraform", (REPO / "api" / "openapi.yaml").read_text())
    return schemathesis.openapi.from_dict(yaml.safe_load(text))


def generated_cases(operation, mode: GenerationMode) -> list:
    """A fixed (derandomized) sample of cases for one operation, so CI sends the same requests every run."""
    cases = []

    @settings(
        max_examples=EXAMPLES_PER_OPERATION_AND_MODE,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(operation.as_strategy(generation_mode=mode))
    def collect(case):
        cases.append((mode, case))

    try:
        collect()
    except Unsatisfiable:  # nothing to negate (a preflight without parameters or body)
        assert mode == GenerationMode.NEGATIVE and not cases, operation.label
    return cases


def send_and_check(base_url: str, mode: GenerationMode, case, session: requests.Session) -> str | None:
    """Send one case; None when the answer conforms, else the failure report."""
    response = case.call(base_url=base_url, session=session, timeout=30)
    # A preflight is the gateway's mock answer for any path under its resource (as on AWS): it validates nothing.
    rejects_bad_data = mode == GenerationMode.NEGATIVE and case.operation.method.upper() != "OPTIONS"
    checks = CONFORMANCE + ([negative_data_rejection] if rejects_bad_data else [])
    try:
        case.validate_response(response, checks=checks)
    except FailureGroup as failures:
        return f"{case.operation.label} ({mode.value}): {failures}"
    return None


def test_the_api_fuzzed_from_its_openapi_document_answers_only_documented_answers(schema, deployment, figures):
    operations = [result.ok() for result in schema.get_all_operations()]
    cases = [case for operation in operations for mode in GenerationMode for case in generated_cases(operation, mode)]
    assert len(cases) >= MIN_GENERATED_REQUESTS, len(cases)

    def send(item):
        # Each case from a client of its own: a fuzzing client's lookups would soon meet the per-client limit, and
        # the fuzzing is of the handlers behind it (tests/integration/test_client_limits.py is of the limit).
        with client_session() as session:
            return send_and_check(deployment["api_url"], *item, session)

    failures = [failure for failure in run_concurrently(send, cases, clients=FUZZ_CLIENTS, figures=figures) if failure]
    figures.add("requests", len(cases))
    figures.add("inputs:api_generated", len(cases))
    figures.check("api_fuzz", {"operations": len(operations), "requests": len(cases), "failures": len(failures)})
    (REPO / "tests" / "artifacts").mkdir(exist_ok=True)
    (REPO / "tests" / "artifacts" / "reliability-fuzz-failures.txt").write_text("\n".join(failures))
    assert failures == [], f"{len(failures)} of {len(cases)} answers break the document:\n" + "\n".join(failures[:5])


# --- hand-written cases ---------------------------------------------------------------------------------------------


def post_raw(api, data: bytes | str, key: str | None = None, content_type: str = "application/json"):
    headers = {"Idempotency-Key": key or str(uuid.uuid4()), "Content-Type": content_type}
    return api.session.post(f"{api.base_url}/paymentbalance", data=data, headers=headers, timeout=60)


def conforms(schema, method: str, path: str, response: requests.Response, **path_parameters: str) -> None:
    """The answer is a documented one for the operation (status, content type, headers, body)."""
    operation = schema[path][method]
    case = operation.Case(media_type="application/json", path_parameters=path_parameters or None)
    case.validate_response(response, checks=CONFORMANCE)


UNKNOWN = unique_invoice_id()
BAD_BODIES = {
    # wrong types
    "invoice id as text": ({"InvoiceID": "abc"}, "InvoiceID"),
    "invoice id as list": ({"InvoiceID": [1]}, "InvoiceID"),
    "invoice id as bool": ({"InvoiceID": True}, "InvoiceID"),
    "invoice id as fraction": ({"InvoiceID": 1.5}, "InvoiceID"),
    "invoice id 0": ({"InvoiceID": 0}, "InvoiceID"),
    "invoice id -1": ({"InvoiceID": -1}, "InvoiceID"),
    "invoice id 1e9 (a JSON exponent)": ("1e9", "InvoiceID"),
    "invoice id 2**53": ({"InvoiceID": 2**53}, "InvoiceID"),
    "invoice id SQL": ({"InvoiceID": "1 OR 1=1"}, "InvoiceID"),
    "name as number": ({"BillersName": 42}, "BillersName"),
    "name as object": ({"BillersName": {"$ne": None}}, "BillersName"),
    "card as number": ({"CardNumber": int(GOOD_CARD)}, "CardNumber"),
    "choices as list": ({"Choices": ["email"]}, "Choices"),
    # amounts
    "negative amount": ({"BillingAmount": "-1.00"}, "BillingAmount"),
    "NaN amount": ({"BillingAmount": "NaN"}, "BillingAmount"),
    "infinite amount": ({"BillingAmount": "Infinity"}, "BillingAmount"),
    "exponent amount": ({"BillingAmount": "1e3"}, "BillingAmount"),
    "huge amount": ({"BillingAmount": "9" * 40 + ".00"}, "BillingAmount"),
    "huge JSON number": ("1e400", "BillingAmount"),
    "three decimals": ({"BillingAmount": "12.345"}, "BillingAmount"),
    "zero amount": ({"BillingAmount": "0.00"}, "BillingAmount"),
    "amount as float": ({"BillingAmount": 0.1}, "BillingAmount"),
    # oversized fields
    "1 MB name": ({"BillersName": "x" * 2**20}, "BillersName"),
    "overlong email": ({"EmailId": "a" * 250 + "@example.com"}, "EmailId"),
    # injection-looking strings where they are not allowed
    "SQL in the amount": ({"BillingAmount": "1; DROP TABLE Payments"}, "BillingAmount"),
    "script in the email": ({"EmailId": "<script>alert(1)</script>@example.com"}, "EmailId"),
    "template in the phone": ({"PhnNumber": "{{7*7}}"}, "PhnNumber"),
    "CVV under another name": ({"cvc2": "123"}, "cvc2"),
    "unknown field": ({"__proto__": {"admin": True}}, "__proto__"),
}


@pytest.mark.parametrize("override, field", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_a_bad_field_is_400_naming_it(api, schema, figures, override, field):
    body = payment_body({"InvoiceID": UNKNOWN, "CustomerName": "Nobody", "Balance": 1})
    if isinstance(override, str):  # a JSON number Python cannot write: spliced into the text
        text = json.dumps({**body, field: "SPLICE"}).replace('"SPLICE"', override)
    else:
        text = json.dumps({**body, **override})
    response = post_raw(api, text)
    figures.add("requests")
    figures.add("inputs:api_hand_written")
    assert response.status_code == 400, response.text[:300]
    assert field in response.json()["errors"], response.text[:300]
    conforms(schema, "POST", "/paymentbalance", response)


RAW_BODIES = {
    "empty": b"",
    "not JSON": b"InvoiceID=1&CardNumber=4111",
    "JSON array": b"[1, 2]",
    "JSON string": b'"hello"',
    "JSON null": b"null",
    "bare NaN": b'{"BillingAmount": NaN}',
    "truncated": b'{"InvoiceID": 1, "Billers',
    "deeply nested": b'{"a":' * 5000 + b"1" + b"}" * 5000,
    "not UTF-8": b'{"BillersName": "\xff\xfe\xfd"}',
    "5 MB of padding": json.dumps({"pad": "x" * (5 * 2**20)}).encode(),
}


@pytest.mark.parametrize("data", RAW_BODIES.values(), ids=RAW_BODIES.keys())
def test_a_body_that_is_not_a_payment_object_is_400(api, schema, figures, data):
    response = post_raw(api, data)
    figures.add("requests")
    figures.add("inputs:api_hand_written")
    assert response.status_code == 400, response.text[:300]
    conforms(schema, "POST", "/paymentbalance", response)


BAD_KEYS = ["", "' OR 1=1 --", "a" * 256, "key with spaces", "../../etc/passwd", "ключ"]


@pytest.mark.parametrize("key", BAD_KEYS, ids=range(len(BAD_KEYS)))
def test_a_malformed_idempotency_key_is_400(api, schema, bill, figures, key):
    body = json.dumps(payment_body(bill()))
    headers = {"Content-Type": "application/json", "Idempotency-Key": key.encode("utf-8")}
    response = api.session.post(f"{api.base_url}/paymentbalance", data=body, headers=headers, timeout=30)
    figures.add("requests")
    figures.add("inputs:api_hand_written")
    assert response.status_code == 400, response.text
    assert "Idempotency-Key" in response.json()["errors"]
    conforms(schema, "POST", "/paymentbalance", response)


BAD_IDS = ["0", "-1", "1e9", "1 OR 1=1", "1;DROP TABLE x", "9007199254740992", "١٢٣", "%00", "1.0", " 1"]


@pytest.mark.parametrize("invoice_id", BAD_IDS, ids=range(len(BAD_IDS)))
def test_a_bad_invoice_id_on_either_balance_route_is_400(api, schema, figures, invoice_id):
    by_path = api.session.get(f"{api.base_url}/paymentbalance/{requests.utils.quote(invoice_id, safe='')}", timeout=30)
    by_query = api.session.get(f"{api.base_url}/paymentbalance/id", params={"InvoiceID": invoice_id}, timeout=30)
    figures.add("requests", 2)
    figures.add("inputs:api_hand_written", 2)
    assert (by_path.status_code, by_query.status_code) == (400, 400), (by_path.text, by_query.text)
    conforms(schema, "GET", "/paymentbalance/{InvoiceID}", by_path, InvoiceID=invoice_id)
    conforms(schema, "GET", "/paymentbalance/id", by_query)


@pytest.mark.parametrize("payment_id", ["0" * 31, "G" * 32, "' OR '1'='1", "A" * 32, "0" * 33])
def test_a_bad_payment_id_is_400(api, schema, figures, payment_id):
    response = api.status(requests.utils.quote(payment_id, safe=""))
    figures.add("inputs:api_hand_written")
    assert response.status_code == 400, response.text
    conforms(schema, "GET", "/payments/{PaymentId}", response, PaymentId=payment_id)


ODD_BUT_VALID_NAMES = [
    "Zoë Ångström-Łukasiewicz",
    "李雷 韩梅梅",
    "Ωμέγα 🙂",
    "Robert'); DROP TABLE Payments;--",
    "<script>alert(1)</script>",
    "${jndi:ldap://127.0.0.1/a}",
    "{{7*7}} %s %n",
]


def test_non_ascii_and_injection_looking_names_are_plain_data(api, schema, bill, aws, deployment, figures):
    """They are valid names: each bill shows its name back masked (payproc.bills.masked_name), and a payment keeps
    the name it was sent verbatim."""
    bills = [bill(balance="3.00", name=name) for name in ODD_BUT_VALID_NAMES]
    for created in bills:
        shown = api.balance(created["InvoiceID"])
        assert shown.status_code == 200 and shown.json()["CustomerName"] == masked_name(created["CustomerName"])
        conforms(schema, "GET", "/paymentbalance/{InvoiceID}", shown, InvoiceID=str(created["InvoiceID"]))
    bodies = [payment_body(created, BillersName=created["CustomerName"], Choices="email") for created in bills]
    accepted = run_concurrently(api.pay, bodies, clients=len(bodies), figures=figures)
    assert [r.status_code for r in accepted] == [202] * len(bills), [r.text for r in accepted]
    for created, response in zip(bills, accepted):
        settled = api.wait_until_settled(response.json()["PaymentId"], timeout=90)
        assert settled["Status"] == "notified", settled
        stored = payment_record(aws, deployment, response.json()["PaymentId"])
        assert stored["BillersName"] == created["CustomerName"]
    figures.add("inputs:api_hand_written", len(bills))
