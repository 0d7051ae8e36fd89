"""A payment end to end: POST /paymentbalance until its email (/_aws/ses) and text (/_aws/sns/sms-messages) are
readable.

One shared inbox thread reads both endpoints every 50 ms for all payments in flight (two requests a tick, however
many payments are in flight: a poller per payment would load the single LocalStack process it measures), so the
figures are within about 50 ms. On a stack the run started itself, it also deletes each message once seen: both
endpoints return every message ever sent, and reading a growing list cost the measured process 16 % of a core at
200 messages (bench/README.md).
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import requests

from bench.common import Periodic, Stack

CARD = "4111111111111111"  # Visa's test number
POLL_S = 0.05
TIMEOUT_S = 60.0


class Inbox(Periodic):
    """Remembers when each email address and phone number first received a message."""

    def __init__(self, endpoint: str, forget_seen: bool) -> None:
        super().__init__(POLL_S)
        self.endpoint, self.session, self.forget_seen = endpoint, requests.Session(), forget_seen
        self.first_seen: dict[str, float] = {}

    def _read(self, path: str) -> Any | None:
        response = self.session.get(f"{self.endpoint}{path}", timeout=10)
        return response.json() if response.status_code == 200 else None  # routes appear once SES/SNS load

    def tick(self) -> None:
        now = time.perf_counter()
        texts = self._read("/_aws/sns/sms-messages") or {}
        for phone, messages in texts.get("sms_messages", {}).items():
            if messages:
                self.first_seen.setdefault(phone, now)
                self._forget("/_aws/sns/sms-messages", phoneNumber=phone)
        mails = self._read("/_aws/ses") or {}
        for message in mails.get("messages", []):
            for address in message.get("Destination", {}).get("ToAddresses", []):
                self.first_seen.setdefault(address, now)
            self._forget("/_aws/ses", id=message["Id"])

    def _forget(self, path: str, **only: str) -> None:
        if self.forget_seen:  # filtered deletes: a message that arrives meanwhile stays to be seen
            self.session.delete(f"{self.endpoint}{path}", params=only, timeout=10)

    def wait_for(self, *destinations: str) -> float:
        """perf_counter time when the last of the destinations had its message; TimeoutError after TIMEOUT_S."""
        deadline = time.monotonic() + TIMEOUT_S
        while not all(d in self.first_seen for d in destinations):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no message for {destinations} within {TIMEOUT_S:.0f} s")
            time.sleep(POLL_S / 2)
        return max(self.first_seen[d] for d in destinations)


def _one_payment(stack: Stack, inbox: Inbox, invoice_id: int) -> float:
    stack.client("dynamodb").put_item(
        TableName=stack.outputs["balance_table"],
        Item={
            "InvoiceID": {"N": str(invoice_id)},
            "CustomerName": {"S": "Bench Payer"},
            "Balance": {"N": "42.50"},
            "IsProcessed": {"N": "0"},
        },
    )
    email = f"bench-{uuid.uuid4().hex[:10]}@example.com"
    phone = "+1555" + f"{uuid.uuid4().int % 10**7:07d}"
    body = {
        "InvoiceID": invoice_id,
        "BillersName": "Bench Payer",
        "BillingAmount": "42.50",
        "CardNumber": CARD,
        "ExpiryDate": "12/39",
        "EmailId": email,
        "PhnNumber": phone,
        "Choices": "both",
    }
    started = time.perf_counter()
    accepted = requests.post(
        f"{stack.outputs['api_url']}/paymentbalance",
        json=body,
        headers={"Idempotency-Key": str(uuid.uuid4())},
        timeout=30,
    )
    if accepted.status_code != 202:
        raise AssertionError(f"payment of {invoice_id}: {accepted.status_code} {accepted.text[:300]}")
    return (inbox.wait_for(email, phone) - started) * 1000


def measure(
    stack: Stack, first_id: int, count: int, parallel: int, own_stack: bool, stack_cpu: Callable[[], dict[str, float]]
) -> dict[str, dict[str, Any]]:
    """`count` payments one at a time, then `count` with `parallel` at a time (ids first_id .. first_id + 2 * count
    + parallel): each series' end-to-end latencies (ms) and the stack's CPU per payment (ms, by process role).
    Seen messages are deleted only from a stack of our own."""
    series: dict[str, dict[str, Any]] = {}

    def timed(label: str, run: Callable[[], list[float]]) -> None:
        before = stack_cpu()
        latencies = run()
        after = stack_cpu()
        cpu = {role: (after[role] - before.get(role, 0.0)) * 1000 / len(latencies) for role in after}
        series[label] = {"latencies": latencies, "cpu_ms_per_payment": cpu}

    with Inbox(stack.endpoint, forget_seen=own_stack) as inbox:
        _one_payment(stack, inbox, first_id + 2 * count)  # warm every function of the path once
        timed("sequential", lambda: [_one_payment(stack, inbox, first_id + i) for i in range(count)])
        with ThreadPoolExecutor(parallel) as pool:
            # Unmeasured: one round at full concurrency, so LocalStack starts the extra Lambda environments first.
            list(pool.map(lambda i: _one_payment(stack, inbox, first_id + 2 * count + 1 + i), range(parallel)))
            timed(
                f"{parallel} at a time",
                lambda: list(pool.map(lambda i: _one_payment(stack, inbox, first_id + count + i), range(count))),
            )
    return series


def burst(stack: Stack, first_id: int, count: int, own_stack: bool) -> list[float]:
    """`count` payments sent at once (ids first_id .. first_id + count - 1), each end to end; their latencies (ms).
    LocalStack starts about one Lambda environment per payment in flight for each function of the path."""
    with Inbox(stack.endpoint, forget_seen=own_stack) as inbox, ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda i: _one_payment(stack, inbox, first_id + i), range(count)))
