"""What building a Step Functions execution's program costs, with LocalStack's parse at every execution and with
stack/localstack_fixes' (stepfunctions.py: one parse per definition), for the deployed payment workflow.

    .stack/venv/bin/python bench/state_machine_parse.py [--executions 50]

Reads the payment state machine's definition from the running stack (build/outputs.json names it), then builds the
program EXECUTIONS times each way, in one single-threaded process, and prints each median per execution and their ratio.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from localstack.services.stepfunctions.asl.parse.asl_parser import AmazonStateLanguageParser

from localstack_fixes.stepfunctions import program_of

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "stack")]
import stackctl  # noqa: E402

from bench.common import Stack, load_outputs, median_ms  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--executions", type=int, default=50)
    args = parser.parse_args()

    state = stackctl.read_state()
    if not state:
        sys.exit("needs the stack running and deployed (make up, make deploy)")
    stack = Stack(state["port"], load_outputs(REPO / "build" / "outputs.json"))
    definition = stack.client("stepfunctions").describe_state_machine(
        stateMachineArn=stack.outputs["state_machine_arn"]
    )["definition"]
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
