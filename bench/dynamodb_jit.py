"""DynamoDB Local's CPU with the JVM's default compilers (LocalStack's command) and with the quick compiler only
(stack/localstack_fixes' command, JVM_OPTIONS), on the same requests; no stack needed.

    .stack/venv/bin/python bench/dynamodb_jit.py [--requests 4000] [--pairs 3]

Each run starts DynamoDB Local in memory on a free port, as the stack does, creates one table, then sends REQUESTS
conditional UpdateItems and as many consistent GetItems (the shape of our functions' calls) from one client, and
reads the JVM's CPU (user + system) from /proc: for start-up, and for the requests. The two commands run in turn,
PAIRS times, so that a drift of the machine hits both; the figures are the medians and their ratio.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
# LocalStack's paths as the embedded stack sets them (stack/stackctl.py), read when localstack is imported.
os.environ.update(FILESYSTEM_ROOT=str(REPO / ".stack" / "root"), OVERRIDE_IN_DOCKER="0", DYNAMODB_IN_MEMORY="1")

import boto3  # noqa: E402
from localstack.services.dynamodb.server import DynamodbServer  # noqa: E402
from localstack.utils.net import get_free_tcp_port  # noqa: E402

from localstack_fixes.dynamodb_local import JVM_OPTIONS, loopback_command  # noqa: E402

from bench.common import cpu_times  # noqa: E402


def wait_for_port(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"DynamoDB Local ended with {process.returncode} before it listened")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("DynamoDB Local did not listen within 60 s")


def one_run(command: list[str], port: int, requests: int) -> tuple[float, float, float]:
    """(start-up CPU, requests' CPU, requests' wall time) of one DynamoDB Local process, in seconds."""
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "DDB_LOCAL_TELEMETRY": "0"}
    )
    try:
        wait_for_port(port, process)
        started = cpu_times(process.pid)[0]
        client = boto3.client(
            "dynamodb",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )
        client.create_table(
            TableName="bench-bills",
            KeySchema=[{"AttributeName": "InvoiceID", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "InvoiceID", "AttributeType": "N"}],
            BillingMode="PAY_PER_REQUEST",
        )
        clock = time.monotonic()
        for invoice in range(requests):
            key = {"InvoiceID": {"N": str(invoice)}}
            client.update_item(
                TableName="bench-bills",
                Key=key,
                UpdateExpression="SET Balance = :balance, CustomerName = :name",
                ConditionExpression="attribute_not_exists(IsProcessed) OR IsProcessed = :unpaid",
                ExpressionAttributeValues={
                    ":balance": {"N": "125.50"},
                    ":name": {"S": f"Customer {invoice}"},
                    ":unpaid": {"N": "0"},
                },
            )
            client.get_item(TableName="bench-bills", Key=key, ConsistentRead=True)
        return started, cpu_times(process.pid)[0] - started, time.monotonic() - clock
    finally:
        process.kill()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=4000, help="UpdateItems per run (and as many GetItems)")
    parser.add_argument("--pairs", type=int, default=3)
    args = parser.parse_args()

    port = get_free_tcp_port()
    localstacks = DynamodbServer(port=port, host="127.0.0.1")._create_shell_command()
    ours = loopback_command(localstacks)
    assert JVM_OPTIONS[0] in ours, "the loopback jar is missing: run stack/setup.sh"
    baseline = [part for part in ours if part not in JVM_OPTIONS]  # the same main class, the JVM's default compilers
    runs: dict[str, list[tuple[float, float, float]]] = {"default compilers": [], "quick compiler only": []}
    for pair in range(args.pairs):
        for name, command in (("default compilers", baseline), ("quick compiler only", ours)):
            runs[name].append(one_run(command, port, args.requests))
            startup, work, wall = runs[name][-1]
            print(f"pair {pair + 1}, {name}: start-up {startup:.1f} s CPU, requests {work:.1f} s CPU in {wall:.1f} s")
    medians = {name: [statistics.median(run[i] for run in series) for i in range(3)] for name, series in runs.items()}
    print(f"\n{2 * args.requests} requests, median of {args.pairs}:\n")
    print("| JVM | start-up CPU | requests' CPU | requests' wall time |\n| --- | --- | --- | --- |")
    for name, (startup, work, wall) in medians.items():
        print(f"| {name} | {startup:.1f} s | {work:.1f} s | {wall:.1f} s |")
    base, ours_ = medians.values()
    print(
        "ratio (quick / default): "
        + ", ".join(
            f"{what} {o / b:.2f}" for what, b, o in zip(("start-up", "requests' CPU", "wall time"), base, ours_)
        )
    )


if __name__ == "__main__":
    main()
