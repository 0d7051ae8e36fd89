"""What building a Step Functions execution's program costs, with LocalStack's parse at every execution and with
stack/localstack_fixes' (stepfunctions.py: one parse per definition), for the deployed payment workflow.

    .stack/venv/bin/python bench/state_machine_parse.py [--executions 50]

Reads the payment state machine's definition from the running stack (build/outputs.json names it), then builds the
program EXECUTIONS times each way, in one single-threaded process, and prints each median per execution and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import boto3
from localstack.services.stepfunctions.asl.parse.asl_parser import AmazonStateLanguageParser

from localstack_fixes.stepfunctions import program_of

REPO = Path(__file__).resolve().parent.parent


def median_ms(build, times: int) -> float:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        build()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--executions", type=int, default=50)
    args = parser.parse_args()

    arn = json.loads((REPO / "build" / "outputs.json").read_text())["state_machine_arn"]
    client = boto3.client(
        "stepfunctions",
        endpoint_url=f"http://127.0.0.1:{os.environ.get('LOCALSTACK_PORT', '4566')}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    definition = client.describe_state_machine(stateMachineArn=arn)["definition"]
    every_time = median_ms(lambda: AmazonStateLanguageParser.parse(definition), args.executions)
    once = median_ms(lambda: program_of(definition), args.executions)
    print(
        f"payment workflow ({len(definition):,} characters), time to build an execution's program, median of "
        f"{args.executions}:"
    )
    print(
        f"LocalStack's (parsed every time) {every_time:.1f} ms, ours (parsed once) {once * 1000:.1f} µs, "
        f"ratio {once / every_time:.1e}"
    )


if __name__ == "__main__":
    main()
