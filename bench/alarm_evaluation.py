"""What evaluating the stack's alarms costs, with LocalStack's metric collection and with stack/localstack_fixes'
(alarms.py: one GetMetricData call an evaluation instead of one a period), on the running embedded stack.

    .stack/venv/bin/python bench/alarm_evaluation.py [--rounds 5]

Each round collects the datapoints of every alarm of the stack once with each function, in turn, through a client of
the stack as LocalStack's scheduler does, and reads the stack process's CPU (user + system, from /proc) and the
caller's around each; both answers must be the same. Prints the medians per evaluation and their ratio. The stack
evaluates each alarm every EvaluationPeriods x Period seconds (10 s locally), so an idle stack pays this constantly.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from localstack.services.cloudwatch import alarm_scheduler

from localstack_fixes.alarms import collect_metric_data as ours

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "stack")]
import stackctl  # noqa: E402

from bench.common import Stack, cpu_times  # noqa: E402

LOCALSTACKS = alarm_scheduler.collect_metric_data  # read before anything could patch it: this process runs no hooks


def scheduled(alarm: dict) -> bool:
    """An alarm LocalStack's scheduler evaluates (AlarmScheduler._is_alarm_supported): one metric, one statistic."""
    required = ("Period", "Statistic", "MetricName", "Threshold")
    return all(name in alarm for name in required) and alarm["ComparisonOperator"] in alarm_scheduler.COMPARISON_OPS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    state = stackctl.read_state()
    if not state or state.get("mode") != "embedded":
        sys.exit("needs the embedded stack running (make up): it reads the stack process's CPU")
    pid, client = state["pid"], Stack(state["port"], {}).client("cloudwatch")
    alarms = [
        alarm
        for page in client.get_paginator("describe_alarms").paginate()
        for alarm in page["MetricAlarms"]
        if scheduled(alarm)
    ]
    if not alarms:
        sys.exit("the stack has no alarms its scheduler evaluates: make deploy first")
    per_evaluation: dict[str, list[float]] = {"LocalStack's": [], "ours": []}
    for round_number in range(args.rounds):
        answers = {}
        for name, collect in (("LocalStack's", LOCALSTACKS), ("ours", ours)):
            before = cpu_times(pid)[0] + time.process_time()
            answers[name] = [collect(alarm, client) for alarm in alarms]
            per_evaluation[name].append((cpu_times(pid)[0] + time.process_time() - before) / len(alarms) * 1000)
        # A datapoint may land between the two collections; a difference must then be in the newest period only.
        for theirs, mine in zip(answers["LocalStack's"], answers["ours"], strict=True):
            assert len(theirs) == len(mine) and theirs[:-1] == mine[:-1], (theirs, mine)
        print(
            f"round {round_number + 1}: {len(alarms)} alarms, "
            + ", ".join(f"{name} {series[-1]:.1f} ms CPU an evaluation" for name, series in per_evaluation.items()),
            flush=True,
        )
    theirs, mine = (statistics.median(series) for series in per_evaluation.values())
    print(f"\nmedian of {args.rounds} rounds, CPU (stack + caller) to collect one alarm's datapoints:")
    print(f"LocalStack's {theirs:.1f} ms, ours {mine:.1f} ms, ratio {mine / theirs:.2f}")


if __name__ == "__main__":
    main()
