"""Get balance, pay and follow a payment through the API Gateway URL of the deployed topology."""

from __future__ import annotations

import concurrent.futures
import uuid
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from tests.helpers.stack import payment_body, sent_emails, sent_texts, unique_invoice_id, wait_for


# --- get balance -------------------------------------------------------------------------------------------------


def test_get_balance_returns_the_bill(api, bill):
    created = bill(balance="42.10", name="Grace, Hopper")
    response = api.balance(created["InvoiceID"])
    assert response.status_code == 200
    assert response.json() == {
        "InvoiceID": created["InvoiceID"],
        "CustomerName": "H. Grace",  # masked: the full name is never shown to a lookup
        "Balance": "42.10",
        "IsProcessed": 0,
    }


def test_the_original_query_route_still_works(api, bill):
    created = bill(balance="7.00")
    response = api.balance_legacy(created["InvoiceID"])
    assert response.status_code == 200
    assert response.json()["Balance"] == "7.00"


def test_unknown_invoice_is_404(api):
    assert api.balance(unique_invoice_id()).status_code == 404


@pytest.mark.parametrize("invoice_id", ["abc", "0", "-1", "1.5", "1e9"])
def test_an_id_that_is_not_a_positive_integer_is_400(api, invoice_id):
    response = api.balance(invoice_id)
    assert response.status_code == 400
    assert "InvoiceID" in response.text


def test_cors_allows_the_site_origin_only(api, bill, deployment):
    invoice_id = bill()["InvoiceID"]
    from_site = api.session.get(
        f"{api.base_url}/paymentbalance/{invoice_id}", timeout=30, headers={"Origin": deployment["allowed_origin"]}
    )
    assert from_site.headers.get("Access-Control-Allow-Origin") == deployment["allowed_origin"]
    from_elsewhere = api.session.get(
        f"{api.base_url}/paymentbalance/{invoice_id}", timeout=30, headers={"Origin": "https://attacker.example"}
    )
    # The answer names only the site's origin, so a browser on another origin may not read it.
    assert from_elsewhere.headers.get("Access-Control-Allow-Origin") in (None, deployment["allowed_origin"])


# --- pay ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("choice", ["email", "text", pytest.param("both", marks=pytest.mark.smoke)])
def test_pay_and_get_the_chosen_alerts(api, bill, aws, deployment, choice):
    created = bill(balance="125.50")
    body = payment_body(created, Choices=choice)
    accepted = api.pay(body)
    assert accepted.status_code == 202, accepted.text
    payment = accepted.json()
    assert payment["Status"] == "accepted" and payment["StatusUrl"].endswith(payment["PaymentId"])

    settled = api.wait_until_settled(payment["PaymentId"])
    assert settled["Status"] == "notified", settled
    assert settled["CardLast4"] == "1111" and "CardNumber" not in settled

    invoice = str(created["InvoiceID"])
    if choice in ("email", "both"):
        mails = wait_for(lambda: sent_emails(body["EmailId"]))
        assert len(mails) == 1
        mail_text = str(mails[0])
        assert invoice in mail_text and "125.50" in mail_text
    else:
        assert sent_emails(body["EmailId"]) == []
    if choice in ("text", "both"):
        texts = wait_for(lambda: sent_texts(body["PhnNumber"]))
        assert len(texts) == 1 and invoice in texts[0] and "125.50" in texts[0]
    else:
        assert sent_texts(body["PhnNumber"]) == []

    after = api.balance(created["InvoiceID"]).json()
    assert after["Balance"] == "0.00" and after["IsProcessed"] == 1


def test_a_paid_bill_is_409(api, bill):
    created = bill(balance="0.00", processed=1)
    response = api.pay(payment_body(created, BillingAmount="10.00"))
    assert response.status_code == 409


def test_an_unknown_invoice_is_404(api):
    ghost = {"InvoiceID": unique_invoice_id(), "CustomerName": "Nobody", "Balance": Decimal("1.00")}
    assert api.pay(payment_body(ghost)).status_code == 404


@pytest.mark.parametrize(
    "field, value",
    [
        ("CardNumber", "4111111111111112"),  # fails Luhn
        ("CardNumber", "4111-abcd"),
        ("ExpiryDate", "01/20"),  # in the past
        ("ExpiryDate", "13/30"),
        ("BillingAmount", "1.00"),  # not the balance due
        ("BillingAmount", "125.505"),
        ("BillingAmount", "NaN"),
        ("EmailId", "not-an-email"),
        ("PhnNumber", "555-0100"),  # not E.164
        ("Choices", "pigeon"),
    ],
)
def test_bad_input_is_400_with_a_reason_for_the_field(api, bill, aws, deployment, field, value):
    created = bill(balance="125.50")
    started = datetime.now(timezone.utc)
    response = api.pay(payment_body(created, **{field: value}))
    assert response.status_code == 400, response.text
    assert field in response.json()["errors"]
    # Nothing started: no payment recorded and no workflow execution for this invoice (a balance still unpaid would
    # prove nothing: every execution first waits some seconds).
    assert payments_of(aws, deployment, created["InvoiceID"]) == []
    assert executions_for(aws, deployment, created["InvoiceID"], since=started) == []


def payments_of(aws, deployment, invoice_id: int) -> list[dict]:
    """Every Payments item of an invoice."""
    table = aws.client("dynamodb")
    pages = table.get_paginator("scan").paginate(
        TableName=deployment["payments_table"],
        FilterExpression="InvoiceID = :id",
        ExpressionAttributeValues={":id": {"N": str(invoice_id)}},
    )
    return [item for page in pages for item in page["Items"]]


def executions_for(aws, deployment, invoice_id: int, since: datetime) -> list[str]:
    """The payment workflow executions started since a moment whose input names the invoice."""
    sfn = aws.client("stepfunctions")
    recent = [
        e["executionArn"]
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=deployment["state_machine_arn"])
        for e in page["executions"]
        if e["startDate"] >= since
    ]
    return [arn for arn in recent if str(invoice_id) in sfn.describe_execution(executionArn=arn)["input"]]


def test_a_cvv_is_never_accepted(api, bill):
    response = api.pay(payment_body(bill(), CVV="123"))
    assert response.status_code == 400
    assert "CVV" in response.json()["errors"]


def test_the_email_is_required_when_email_alerts_are_chosen(api, bill):
    response = api.pay(payment_body(bill(), Choices="email", EmailId=""))
    assert response.status_code == 400 and "EmailId" in response.json()["errors"]


def test_without_an_idempotency_key_the_same_body_is_one_payment_and_a_malformed_key_is_400(api, bill):
    body, url = payment_body(bill()), f"{api.base_url}/paymentbalance"
    first, second = (api.session.post(url, json=body, timeout=30) for _ in range(2))
    assert first.status_code == second.status_code == 202, first.text
    assert first.json() == second.json()
    malformed = api.session.post(url, json=payment_body(bill()), headers={"Idempotency-Key": "has space"}, timeout=30)
    assert malformed.status_code == 400 and "Idempotency-Key" in malformed.json()["errors"]


def test_the_same_idempotency_key_replays_the_first_answer(api, bill, aws, deployment):
    created = bill(balance="19.99")
    body, key = payment_body(created, Choices="text"), str(uuid.uuid4())
    first, second = api.pay(body, key), api.pay(body, key)
    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    assert api.wait_until_settled(first.json()["PaymentId"])["Status"] == "notified"
    assert len(sent_texts(body["PhnNumber"])) == 1  # one execution, one text


def test_the_same_idempotency_key_with_another_body_is_rejected(api, bill):
    created, key = bill(balance="19.99"), str(uuid.uuid4())
    assert api.pay(payment_body(created), key).status_code == 202
    other = api.pay(payment_body(created, Choices="email"), key)
    assert other.status_code == 422


def test_two_payments_of_one_invoice_at_once_exactly_one_wins(api, bill, aws, deployment):
    created = bill(balance="300.00")
    bodies = [payment_body(created, Choices="email") for _ in range(2)]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        responses = list(pool.map(api.pay, bodies))
    accepted = [r.json()["PaymentId"] for r in responses if r.status_code == 202]
    assert all(r.status_code in (202, 409) for r in responses)
    outcomes = [api.wait_until_settled(payment_id)["Status"] for payment_id in accepted]
    assert outcomes.count("notified") == 1, outcomes
    assert api.balance(created["InvoiceID"]).json()["Balance"] == "0.00"
    assert sum(len(sent_emails(body["EmailId"])) for body in bodies) == 1
