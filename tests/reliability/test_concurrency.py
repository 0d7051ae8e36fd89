"""Load and concurrency against the deployed API: many clients racing for one invoice, one key replayed by many
clients, and many invoices paid at once (docs/payments.md: idempotency and the one-transaction commit)."""

from __future__ import annotations

import uuid

from tests.helpers.reliability import (
    balance_item,
    executions_named,
    payment_record,
    payments_of_invoice,
    run_concurrently,
)
from tests.helpers.stack import payment_body, sent_emails, sent_texts, wait_for

RACERS = 50
REPLAYS = 200
INVOICES = 20
CLIENTS = 50  # threads sending at once (bounded: one Lambda environment per request in flight)


def test_50_payments_of_one_invoice_with_different_keys_exactly_one_pays(api, bill, aws, deployment, figures):
    created = bill(balance="250.00")
    bodies = [payment_body(created, Choices="email") for _ in range(RACERS)]
    responses = run_concurrently(api.pay, bodies, clients=CLIENTS, figures=figures)

    codes = [r.status_code for r in responses]
    assert all(code in (202, 409) for code in codes), sorted(set(codes))  # no 5xx, nothing else
    accepted = [r.json()["PaymentId"] for r in responses if r.status_code == 202]
    assert accepted

    outcomes = run_concurrently(lambda pid: api.wait_until_settled(pid, timeout=180), accepted, clients=10)
    statuses = [outcome["Status"] for outcome in outcomes]
    assert statuses.count("notified") == 1, statuses
    assert statuses.count("failed") == len(accepted) - 1, statuses
    assert all("already paid" in o["Reason"] for o in outcomes if o["Status"] == "failed")

    after = api.balance(created["InvoiceID"]).json()
    assert after["Balance"] == "0.00" and after["IsProcessed"] == 1
    records = payments_of_invoice(aws, deployment, created["InvoiceID"])
    assert len(records) == len(accepted)  # one record per accepted key, none for a 409
    assert [r["Status"] for r in records].count("notified") == 1
    assert not [r for r in records if r["Status"] in ("paid", "accepted")]
    assert balance_item(aws, deployment, created["InvoiceID"])["LastPaymentId"] in accepted
    assert sum(len(sent_emails(body["EmailId"])) for body in bodies) == 1  # one receipt, to the winner
    figures.check(
        "racing_payments_of_one_invoice",
        {"requests": RACERS, "accepted": len(accepted), "conflict_409": codes.count(409), "paid": 1},
    )


def test_200_requests_with_one_key_start_one_execution_and_get_one_answer(api, bill, aws, deployment, figures):
    created = bill(balance="19.99")
    body, key = payment_body(created, Choices="text"), f"replay-{uuid.uuid4()}"
    responses = run_concurrently(lambda _: api.pay(body, key), range(REPLAYS), clients=CLIENTS, figures=figures)

    assert {r.status_code for r in responses} == {202}, sorted({r.status_code for r in responses})
    answers = {r.text for r in responses}
    assert len(answers) == 1, answers
    payment_id = responses[0].json()["PaymentId"]

    assert api.wait_until_settled(payment_id, timeout=90)["Status"] == "notified"
    assert len(executions_named(aws, deployment, payment_id)) == 1
    assert [r["PaymentId"] for r in payments_of_invoice(aws, deployment, created["InvoiceID"])] == [payment_id]
    assert len(sent_texts(body["PhnNumber"])) == 1

    # The same key with another body: rejected, and the payment it names is untouched.
    other = api.pay({**body, "Choices": "both", "EmailId": "someone.else@example.com"}, key)
    assert other.status_code == 422, other.text
    assert "Idempotency-Key" in other.json()["errors"]
    assert payment_record(aws, deployment, payment_id)["Choices"] == "text"
    figures.check("replays_of_one_key", {"requests": REPLAYS, "distinct_answers": 1, "executions": 1})


def test_20_invoices_paid_at_once_all_pay_and_every_alert_arrives(api, bill, aws, deployment, figures):
    bills = [bill(balance=f"{10 + n}.{n:02d}") for n in range(INVOICES)]
    bodies = [payment_body(created, Choices="both") for created in bills]
    responses = run_concurrently(api.pay, bodies, clients=INVOICES, figures=figures)
    assert [r.status_code for r in responses] == [202] * INVOICES, [r.text for r in responses if r.status_code != 202]

    payment_ids = [r.json()["PaymentId"] for r in responses]
    outcomes = run_concurrently(lambda pid: api.wait_until_settled(pid, timeout=120), payment_ids, clients=10)
    assert [o["Status"] for o in outcomes] == ["notified"] * INVOICES, outcomes
    assert all(o["Notifications"] == {"email": "sent", "text": "sent"} for o in outcomes)

    for created, body in zip(bills, bodies):
        amount = f"{created['Balance']:.2f}"
        mails = wait_for(lambda: sent_emails(body["EmailId"]), timeout=30)
        texts = wait_for(lambda: sent_texts(body["PhnNumber"]), timeout=30)
        assert len(mails) == 1 and amount in str(mails[0]) and str(created["InvoiceID"]) in str(mails[0])
        assert len(texts) == 1 and amount in texts[0]
        assert balance_item(aws, deployment, created["InvoiceID"])["IsProcessed"] == 1
    figures.check(
        "invoices_paid_at_once", {"invoices": INVOICES, "notified": INVOICES, "emails": INVOICES, "texts": INVOICES}
    )
