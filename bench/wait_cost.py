"""What a test's wait for a payment to settle costs the stack, per poll: a GET of the status endpoint (API Gateway,
the payment_status function, DynamoDB) against a consistent read of the payment's record, which
tests/helpers/stack.py's Api.wait_until_settled polls instead (it asks the endpoint once the record is settled).
Needs a deployed stack that holds a payment (`make test`, or one paid through the page).

    .venv/bin/python -m bench.wait_cost [--polls 100] [--rounds 3]

A round is POLLS status requests, then POLLS reads, one at a time; the figure is the stack's CPU (LocalStack, its
Lambda processes, DynamoDB Local) over each series, divided by POLLS. The ratio is the median of the rounds' ratios.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import requests

from bench.common import REPO, Stack, load_outputs
from bench.stack_figures import stack_cpu_seconds

OUTPUTS = REPO / "build" / "outputs.json"


def stack_cpu_ms_per_call(call, polls: int) -> float:
    before = sum(stack_cpu_seconds().values())
    for _ in range(polls):
        call()
    time.sleep(0.5)  # let the last invoke's process settle its CPU accounting
    return (sum(stack_cpu_seconds().values()) - before) * 1000 / polls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    outputs = load_outputs(OUTPUTS)
    stack = Stack(int(os.environ.get("LOCALSTACK_PORT") or 4566), outputs)
    dynamodb, table_name = stack.client("dynamodb"), outputs["payments_table"]
    found = dynamodb.scan(TableName=table_name, Limit=1, ProjectionExpression="PaymentId").get("Items")
    if not found:
        print(f"no payment in {table_name}: run `make test`, or pay once through the page", file=sys.stderr)
        return 2
    payment_id = found[0]["PaymentId"]["S"]
    session = requests.Session()
    status_url = f"{outputs['api_url'].rstrip('/')}/payments/{payment_id}"

    def status():
        session.get(status_url, timeout=30).raise_for_status()

    def read():
        dynamodb.get_item(TableName=table_name, Key={"PaymentId": {"S": payment_id}}, ConsistentRead=True)

    rounds = []
    for number in range(1, args.rounds + 1):
        rounds.append((stack_cpu_ms_per_call(status, args.polls), stack_cpu_ms_per_call(read, args.polls)))
        print(f"round {number}: status {rounds[-1][0]:.1f} ms, read {rounds[-1][1]:.1f} ms of stack CPU a poll")
    status_ms, read_ms = (statistics.median(figures) for figures in zip(*rounds, strict=True))
    print(
        f"stack CPU a poll, median of {args.rounds}: status endpoint {status_ms:.1f} ms, record read {read_ms:.1f} ms"
    )
    print(f"record read / status endpoint: {statistics.median(r / s for s, r in rounds):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
