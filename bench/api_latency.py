"""Get balance through the API Gateway URL against a no-op Lambda behind the same gateway, same run.

Each client thread has its own keep-alive HTTP session (as a browser would), from a loopback address of its own that
it changes every LOOKUPS_PER_ADDRESS requests: get balance allows 60 lookups a minute per client address
(docs/payments.md), and the benchmark is of many clients' lookups, not of one client's limit. The no-op route is a REST
API the benchmark creates with one AWS_PROXY GET route to a function that returns 200 {} (bench/scaffold.py).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

from bench.common import Stack
from tests.helpers.stack import client_session
from bench.scaffold import NOOP_PROXY_HANDLER, Scaffold, zip_of

WARM_UP = 20
INVOICES = 50
LOOKUPS_PER_ADDRESS = 50  # under get balance's 60 a minute per client address


def _timed_gets(url_of: list[str], count: int, clients: int) -> list[float]:
    """count GETs spread over `clients` threads; latency in ms of each (every answer must be 200)."""

    def worker(share: int, offset: int) -> list[float]:
        session, out = client_session(), []
        for i in range(share):
            if i and i % LOOKUPS_PER_ADDRESS == 0:
                session.close()
                session = client_session()  # a new client: its first request opens a connection, as a browser's
            url = url_of[(offset + i) % len(url_of)]
            started = time.perf_counter()
            response = session.get(url, timeout=30)
            out.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise AssertionError(f"GET {url}: {response.status_code} {response.text[:200]}")
        return out

    shares = [count // clients + (1 if i < count % clients else 0) for i in range(clients)]
    with ThreadPoolExecutor(clients) as pool:
        results = pool.map(worker, shares, [i * 7 for i in range(clients)])
        return [ms for part in results for ms in part]


def seed_invoices(stack: Stack, first_id: int) -> list[int]:
    table = stack.client("dynamodb")
    ids = list(range(first_id, first_id + INVOICES))
    for start in range(0, len(ids), 25):
        table.batch_write_item(
            RequestItems={
                stack.outputs["balance_table"]: [
                    {
                        "PutRequest": {
                            "Item": {
                                "InvoiceID": {"N": str(i)},
                                "CustomerName": {"S": "Bench Reader"},
                                "Balance": {"N": str(Decimal("12.34"))},
                                "IsProcessed": {"N": "0"},
                            }
                        }
                    }
                    for i in ids[start : start + 25]
                ]
            }
        )
    return ids


def _timed_get_items(stack: Stack, invoice_ids: list[int], count: int) -> list[float]:
    """count GetItem calls from this process through LocalStack's gateway, the call get_balance makes; ms each."""
    client, table, out = stack.client("dynamodb"), stack.outputs["balance_table"], []
    for i in range(count):
        started = time.perf_counter()
        client.get_item(TableName=table, Key={"InvoiceID": {"N": str(invoice_ids[i % len(invoice_ids)])}})
        out.append((time.perf_counter() - started) * 1000)
    return out


def measure(stack: Stack, scaffold: Scaffold, first_id: int, requests_count: int, clients: int) -> dict[str, Any]:
    """Latencies (ms) of get balance and of the no-op route, sequential and with `clients` concurrent clients,
    and of the GetItem that get balance makes, sequential. The series alternate in blocks so that a change of
    machine load hits all alike."""
    noop = scaffold.function("noop-proxy", zip_of({"handler.py": NOOP_PROXY_HANDLER}), timeout=30, memory=128)
    noop_url = [scaffold.proxy_api(noop, "noop")]
    invoice_ids = seed_invoices(stack, first_id)
    balance_urls = [f"{stack.outputs['api_url']}/paymentbalance/{i}" for i in invoice_ids]
    results: dict[str, Any] = {}
    for label, concurrency in (("sequential", 1), (f"{clients} clients", clients)):
        _timed_gets(noop_url, WARM_UP * concurrency, concurrency)  # start the environments LocalStack will use
        _timed_gets(balance_urls, WARM_UP * concurrency, concurrency)
        balance: list[float] = []
        noop_ms: list[float] = []
        get_item: list[float] = []
        blocks = 4
        for _ in range(blocks):
            balance += _timed_gets(balance_urls, requests_count // blocks, concurrency)
            noop_ms += _timed_gets(noop_url, requests_count // blocks, concurrency)
            if concurrency == 1:
                get_item += _timed_get_items(stack, invoice_ids, requests_count // blocks)
        results[label] = {"get_balance": balance, "noop": noop_ms} | ({"get_item": get_item} if get_item else {})
    return results
