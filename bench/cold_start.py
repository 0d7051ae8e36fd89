"""Cold starts through the embedded stack's executor: an environment forked from its runtime's warm template
against one started as a new interpreter, paired in the same run (issue 18).

    .venv/bin/python bench/cold_start.py [--pairs 15]

Needs the running embedded stack (`make up`). Each pair creates two new functions with the same code: one as is
(forked), one with `PYTHONWARNINGS=default`, a start-up-only variable that makes the executor start it as a new
interpreter (stack/lambda_executor/README.md, "Warm templates"); the baseline. The two are invoked once each, in
alternating order, and the first invoke's round trip is the cold start. Two kinds of code: a no-op handler, and one
that creates a boto3 DynamoDB client at import (as get_balance does through the layer). Then the PSS of every idle
environment of the forked no-op functions against the baseline's (from /proc/<pid>/smaps_rollup). Prints medians
and ratios.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import boto3

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "stack")]
import stackctl  # noqa: E402

from bench.stack_figures import NOOP_HANDLER, new_function, pss_mb, timed_invoke, use_local_stack  # noqa: E402

CODE = {
    "no-op": NOOP_HANDLER,
    "boto3 client at import": (
        "import boto3\nclient = boto3.client('dynamodb')\ndef handler(event, context):\n    return event\n"
    ),
}
BASELINE_ENV = {"PYTHONWARNINGS": "default"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=15)
    args = parser.parse_args()
    use_local_stack()
    client = boto3.client("lambda")
    created: list[str] = []
    print("| cold start, first invoke's round trip | forked (median) | new interpreter (median) | ratio |")
    print("| --- | --- | --- | --- |")
    try:
        idle: dict[str, list[str]] = {"forked": [], "baseline": []}
        for kind, code in CODE.items():
            times: dict[str, list[float]] = {"forked": [], "baseline": []}
            for pair in range(args.pairs):
                names = {"forked": new_function(client, code), "baseline": new_function(client, code, BASELINE_ENV)}
                created += names.values()
                order = ["forked", "baseline"] if pair % 2 == 0 else ["baseline", "forked"]
                for which in order:
                    times[which].append(timed_invoke(client, names[which]))
                if kind == "no-op":
                    for which, name in names.items():
                        idle[which].append(name)
            forked, baseline = statistics.median(times["forked"]), statistics.median(times["baseline"])
            print(f"| {kind} ({args.pairs} pairs) | {forked:.1f} ms | {baseline:.1f} ms | {forked / baseline:.2f} |")
        pss = {
            which: [pss_mb(pid) for name in names for pid in stackctl.function_processes(name)]
            for which, names in idle.items()
        }
        forked, baseline = statistics.median(pss["forked"]), statistics.median(pss["baseline"])
        print(
            f"| idle no-op environment, PSS ({len(pss['forked'])} and {len(pss['baseline'])} processes) "
            f"| {forked:.1f} MB | {baseline:.1f} MB | {forked / baseline:.2f} |"
        )
    finally:
        for name in created:
            client.delete_function(FunctionName=name)


if __name__ == "__main__":
    main()
