"""The public page against harvesting customers and testing cards (docs/payments.md, "The public page"): per-client
limits on lookups and on failed payment attempts, answered 429 with Retry-After, through the deployed API. Each client
is a loopback address of its own (tests/helpers/stack.py client_session): the local stack reports the connection's
address as API Gateway's sourceIp, as AWS does (stack/localstack_fixes, source_ip.py)."""

from __future__ import annotations

import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from payproc.bills import masked_name
from payproc.limits import in_words
from tests.helpers.stack import (
    Api,
    client_session,
    declining_card,
    payment_body,
    sent_emails,
    stack_mode,
    unique_invoice_id,
)

# terraform/variables.tf's defaults, which `make deploy` keeps: lookup_limit, failed_payment_limits.
LOOKUPS = 60
PER_CLIENT, PER_INVOICE, PER_CARD = 10, 5, 3
WALK = 200


@pytest.fixture
def sequential_bills(aws, deployment) -> dict[int, str]:
    """WALK bills with consecutive invoice ids, in a range of their own (above the ids the other tests draw), each
    with a full name: InvoiceID -> CustomerName as stored."""
    first = 8_000_000_000_000_000 + random.randrange(10**12) * 1000
    names = {first + n: f"Walked{n} Customer{n} Surname{n}" for n in range(WALK)}
    with aws.resource("dynamodb").Table(deployment["balance_table"]).batch_writer() as batch:
        for invoice_id, name in names.items():
            batch.put_item(Item={"InvoiceID": invoice_id, "CustomerName": name, "Balance": 5, "IsProcessed": 0})
    return names


def test_a_walk_of_sequential_ids_is_throttled_and_never_shows_a_full_name(api, deployment, sequential_bills):
    def look_up(invoice_id: int):
        with client_session(api.address) as session:  # one client (one address), eight connections: a fast walk
            sent = time.time()
            answer = session.get(f"{api.base_url}/paymentbalance/{invoice_id}", timeout=30)
            return sent, time.time(), answer

    with ThreadPoolExecutor(8) as pool:
        timed = list(pool.map(look_up, sequential_bills))
    answers = [answer for _, _, answer in timed]
    assert {answer.status_code for answer in answers} == {200, 429}

    # The limit counts in one-minute windows aligned to the clock: a fresh client gets its whole budget, and no window
    # serves it more (counting the answers whose request began and ended in one window).
    windows = {int(sent // 60) for sent, _, _ in timed} | {int(received // 60) for _, received, _ in timed}
    served = [(int(sent // 60), int(received // 60)) for sent, received, a in timed if a.status_code == 200]
    assert LOOKUPS <= len(served) <= LOOKUPS * len(windows)
    assert all(Counter(start for start, end in served if start == end)[window] <= LOOKUPS for window in windows)
    throttled = [answer for answer in answers if answer.status_code == 429]
    for answer in throttled:
        retry_after = int(answer.headers["Retry-After"])
        assert 1 <= retry_after <= 60
        message = f"too many invoice lookups from your address; retry in {in_words(retry_after)}"
        assert answer.json() == {"message": message}

    # Compared with the table: the masked name, and the full one nowhere in any answer.
    for n, (full_name, answer) in enumerate(zip(sequential_bills.values(), answers)):
        assert f"Walked{n}" not in answer.text and f"Customer{n}" not in answer.text
        if answer.status_code == 200:
            assert answer.json()["CustomerName"] == f"W. C. Surname{n}" == masked_name(full_name)


def test_a_throttled_client_leaves_other_clients_alone_and_is_served_again_after_the_window(
    api, deployment, sequential_bills
):
    if stack_mode() == "docker":
        pytest.skip("docker mode runs LocalStack's image as it is: every local caller is one client there")
    invoice_id = next(iter(sequential_bills))
    while (answer := api.balance(invoice_id)).status_code != 429:
        assert answer.status_code == 200
    assert Api(deployment["api_url"]).balance(invoice_id).status_code == 200  # another address, another budget

    # The limit's key is the connection's address: a header naming another client changes nothing.
    forwarded = api.session.get(
        f"{api.base_url}/paymentbalance/{invoice_id}", headers={"X-Forwarded-For": "203.0.113.7"}, timeout=30
    )
    assert forwarded.status_code == 429

    time.sleep(int(answer.headers["Retry-After"]) + 1)
    assert api.balance(invoice_id).status_code == 200


# --- failed payment attempts -------------------------------------------------------------------------------------


def attempt(api: Api, bill: dict, card: str):
    """A payment of the bill with this card, without delay; the API's answer, and the payment's settled status
    when it was accepted."""
    answer = api.pay(payment_body(bill, CardNumber=card, Choices="email", WaitSeconds=0))
    if answer.status_code != 202:
        return answer, None
    return answer, api.wait_until_settled(answer.json()["PaymentId"], timeout=60)


def declined_then_refused(attempts, allowed: int, refusal: str) -> None:
    """The first `allowed` attempts were declined (nothing paid, no alert), every later one refused with 429."""
    for n, (answer, settled) in enumerate(attempts):
        if n < allowed:
            assert answer.status_code == 202, answer.text
            assert (settled["Status"], settled["DeclineCode"]) == ("declined", "generic_decline"), settled
        else:
            assert answer.status_code == 429, answer.text
            assert answer.json()["message"].startswith(refusal), answer.json()
            assert 1 <= int(answer.headers["Retry-After"]) <= 3600


@pytest.fixture
def bills(aws, deployment):
    """A factory of unpaid bills, each with its payer's e-mail address (to see that no receipt was sent)."""
    table = aws.resource("dynamodb").Table(deployment["balance_table"])

    def make() -> dict:
        bill = {"InvoiceID": unique_invoice_id(), "CustomerName": "Card Tester", "Balance": 25, "IsProcessed": 0}
        table.put_item(Item=bill)
        return bill

    return make


def unpaid(aws, deployment, bill) -> bool:
    table = aws.resource("dynamodb").Table(deployment["balance_table"])
    item = table.get_item(Key={"InvoiceID": bill["InvoiceID"]}, ConsistentRead=True)["Item"]
    return (item["IsProcessed"], item["Balance"]) == (0, 25)


def test_a_client_testing_cards_is_refused_past_its_failed_attempts(api, aws, deployment, bills):
    tried = [bills() for _ in range(20)]
    attempts = [attempt(api, bill, declining_card()) for bill in tried]  # a new card and invoice each time
    declined_then_refused(attempts, PER_CLIENT, "too many failed payment attempts from your address")
    assert all(unpaid(aws, deployment, bill) for bill in tried)
    assert Api(deployment["api_url"]).pay(payment_body(bills(), Choices="email")).status_code == 202  # others pay


def test_an_invoice_with_too_many_failed_attempts_is_locked_and_says_so(deployment, aws, bills):
    bill = bills()
    # From a new address and with a new card each time: only the invoice's own limit can stop them.
    attempts = [attempt(Api(deployment["api_url"]), bill, declining_card()) for _ in range(20)]
    declined_then_refused(attempts, PER_INVOICE, f"invoice {bill['InvoiceID']} is locked after too many failed")
    assert unpaid(aws, deployment, bill)


def test_a_card_declined_too_often_is_refused_on_every_invoice(deployment, aws, bills):
    card = declining_card()
    tried = [bills() for _ in range(20)]
    attempts = [attempt(Api(deployment["api_url"]), bill, card) for bill in tried]
    declined_then_refused(attempts, PER_CARD, "too many failed payment attempts with this card")
    assert all(unpaid(aws, deployment, bill) for bill in tried)


@pytest.mark.parametrize(
    "last4, code",
    [("9995", "insufficient_funds"), ("0069", "expired_card"), ("0119", "processor_error")],
)
def test_each_test_card_declines_with_its_code_and_no_receipt(api, aws, deployment, bills, last4, code):
    bill = bills()
    body = payment_body(bill, CardNumber=declining_card(last4), Choices="email", WaitSeconds=0)
    answer = api.pay(body)
    # processor_error: retried by the workflow (modules/workflow's charge_retry), then declined.
    settled = api.wait_until_settled(answer.json()["PaymentId"], timeout=90)
    assert (settled["Status"], settled["DeclineCode"]) == ("declined", code)
    assert settled["Reason"] and "PaidAt" not in settled
    assert unpaid(aws, deployment, bill)
    assert sent_emails(body["EmailId"]) == []  # no "paid" receipt
