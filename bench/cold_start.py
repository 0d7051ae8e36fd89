"""Cold starts through the embedded stack's executor: an environment forked from its runtime's warm template
against one started as a new interpreter, paired in the same run (issue 18).

    .venv/bin/python bench/cold_start.py [--pairs 15]

Needs the running embedded stack (`make up`). Each pair creates two new functions with the same code: one as is
(forked), one with `PYTHONWARNINGS=default`, a start-up-only variable that makes the executor start it as a new
interpreter (stack/lambda_executor/README.md, "Warm templates"); the baseline. The two are invoked once each, in
alternating order, and the first invoke's round trip is the cold start. Three kinds of code: a no-op handler, one
that creates a boto3 DynamoDB client at import, and the deployed get_balance (its code, layer and settings from
build/outputs.json's deployment, invoked with a lookup of an unknown invoice: a 404 after its two DynamoDB calls).
Forks of a layered function come from its layers' template once a fork of theirs has taught it (the deployment's own
functions usually have; else the first pair's function does). Then, read right after each invoke (an idle
environment ends after LAMBDA_KEEPALIVE_MS), the PSS and the private memory (USS) of each environment, forked and
baseline (from /proc/<pid>/smaps_rollup). PSS divides the pages a fork shares among their sharers, so it falls as
more forks share them; USS is what one more environment costs. Prints medians and ratios.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import zipfile
from pathlib import Path

import boto3

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "stack")]
import stackctl  # noqa: E402

from bench.common import deployed_settings, load_outputs  # noqa: E402
from bench.stack_figures import NOOP_HANDLER, new_function, private_mb, pss_mb, timed_invoke, use_local_stack  # noqa: E402

CODE = {
    "no-op": NOOP_HANDLER,
    "boto3 client at import": (
        "import boto3\nclient = boto3.client('dynamodb')\ndef handler(event, context):\n    return event\n"
    ),
}
BASELINE_ENV = {"PYTHONWARNINGS": "default"}


def get_balance_copy(client) -> dict:
    """new_function's arguments for a copy of the deployed get_balance: its zip, layers and environment."""
    outputs = load_outputs(REPO / "build" / "outputs.json")
    settings = deployed_settings(client, outputs["function_names"]["get_balance"])
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.write(REPO / "functions" / "get_balance" / "handler.py", "handler.py")
    return {"code": archive.getvalue(), "env": settings["env"], "layers": settings["layers"]}


def lookup(pair: int, which: str) -> bytes:
    """An API Gateway event for an unknown invoice, from an address of its own (the lookup limit counts per address)."""
    address = f"127.77.{pair}.{1 if which == 'forked' else 2}"
    event = {
        "httpMethod": "GET",
        "pathParameters": {"InvoiceID": "999999999"},
        "requestContext": {"identity": {"sourceIp": address}},
    }
    return json.dumps(event).encode()


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
        idle: dict[str, dict[str, list[tuple[float, float]]]] = {}  # kind -> forked/baseline -> (PSS, USS) each
        kinds = {kind: {"code": code} for kind, code in CODE.items()}
        kinds["get_balance (deployed code, layer, settings)"] = get_balance_copy(client)
        for kind, function in kinds.items():
            times: dict[str, list[float]] = {"forked": [], "baseline": []}
            baseline_env = {**function.get("env", {}), **BASELINE_ENV}
            for pair in range(args.pairs):
                names = {
                    "forked": new_function(client, **function),
                    "baseline": new_function(client, **{**function, "env": baseline_env}),
                }
                created += names.values()
                order = ["forked", "baseline"] if pair % 2 == 0 else ["baseline", "forked"]
                for which in order:
                    payload = lookup(pair, which) if "layers" in function else b"{}"
                    times[which].append(timed_invoke(client, names[which], payload))
                for which, name in names.items():  # read now: an idle environment ends after LAMBDA_KEEPALIVE_MS
                    for pid in stackctl.function_processes(name):
                        memory = idle.setdefault(kind, {"forked": [], "baseline": []})[which]
                        memory.append((pss_mb(pid), private_mb(pid)))
            forked, baseline = statistics.median(times["forked"]), statistics.median(times["baseline"])
            print(f"| {kind} ({args.pairs} pairs) | {forked:.1f} ms | {baseline:.1f} ms | {forked / baseline:.2f} |")
        for kind, memory in idle.items():
            for figure, column in (("PSS", 0), ("private (USS)", 1)):
                forked, baseline = (statistics.median(m[column] for m in memory[which]) for which in memory)
                print(
                    f"| idle environment after one invoke, {figure}: {kind} ({len(memory['forked'])} and "
                    f"{len(memory['baseline'])} processes) | {forked:.1f} MB | {baseline:.1f} MB "
                    f"| {forked / baseline:.2f} |"
                )
    finally:
        for name in created:
            client.delete_function(FunctionName=name)


if __name__ == "__main__":
    main()
