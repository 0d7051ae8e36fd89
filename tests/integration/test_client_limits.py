"""The public page against harvesting customers and testing cards (docs/payments.md, "The public page"): per-client
limits on lookups and on failed payment attempts, answered 429 with Retry-After, through the deployed API. Each client
is a loopback address of its own (tests/helpers/stack.py client_session): the local stack reports the connection's
address as API Gateway's sourceIp, as AWS does (stack/localstack_fixes, source_ip.py)."""

from __future__ import annotations

import random
import time

import pytest

from payproc.bills import masked_name
from tests.helpers.stack import Api, stack_mode

LOOKUPS = 60  # terraform/variables.tf lookup_limit's default, which `make deploy` keeps
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
    started = time.monotonic()
    answers = [api.balance(invoice_id) for invoice_id in sequential_bills]
    assert time.monotonic() - started < 60  # so the walk spans at most two of the limit's one-minute windows

    # A fresh client gets its whole budget, then 429s: at most one more budget if the walk crossed into a new window.
    assert [answer.status_code for answer in answers[:LOOKUPS]] == [200] * LOOKUPS
    throttled = [answer for answer in answers if answer.status_code == 429]
    assert WALK - 2 * LOOKUPS <= len(throttled) <= WALK - LOOKUPS
    assert {answer.status_code for answer in answers} == {200, 429}
    for answer in throttled:
        assert 1 <= int(answer.headers["Retry-After"]) <= 60
        assert answer.json() == {
            "message": f"too many invoice lookups from your address; retry in {answer.headers['Retry-After']} seconds"
        }

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
