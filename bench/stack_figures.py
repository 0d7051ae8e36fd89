"""Figures of the local stack itself: start-up time, a no-op Lambda's cold and warm invoke through the executor,
and the resident memory of every process of the stack.

    .venv/bin/python bench/stack_figures.py [--invokes 200]

Starts its own stack when none is up (and stops it after): that run gives the start-up time and the idle memory.
Against a running stack it skips the start-up figure, so `make up && .venv/bin/python -m pytest tests/stack &&
.venv/bin/python bench/stack_figures.py` gives the memory after the stack suite. Prints a Markdown table with the
targets of issue 2 next to each figure.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path

import boto3

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "stack")]
import stackctl  # noqa: E402

from bench.common import cpu_times  # noqa: E402
from bench.memory import status_kb  # noqa: E402


def stack_rss_mb() -> float:
    """Resident memory of LocalStack, DynamoDB Local and the Lambda processes, in MB."""
    return sum(status_kb(pid, "VmRSS") for pid in stackctl.processes_of_this_stack()) / 1024


def pss_mb(pid: int) -> float:
    """A process's proportional set size in MB (its shared pages divided among their sharers); 0 when it is gone."""
    return smaps_mb(pid, ("Pss",))


def private_mb(pid: int) -> float:
    """A process's private memory in MB (USS: the pages only it maps, what it costs beyond what it shares)."""
    return smaps_mb(pid, ("Private_Clean", "Private_Dirty"))


def smaps_mb(pid: int, fields: tuple[str, ...]) -> float:
    """The sum of these /proc/<pid>/smaps_rollup fields in MB; 0 when the process is gone."""
    try:
        lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    except OSError:
        return 0.0
    return sum(int(line.split()[1]) for line in lines if line.split(":")[0] in fields) / 1024


def stack_pss() -> dict[str, float]:
    """The stack's memory as PSS (which, unlike RSS, counts a page that forks share once): MB in all, MB of its
    Lambda processes (our executor's environments and templates), and how many of those there are."""
    total = lambdas = count = 0.0
    for pid in stackctl.processes_of_this_stack():
        pss = pss_mb(pid)
        total += pss
        if role_of(pid) == "lambda" and pss:
            lambdas, count = lambdas + pss, count + 1
    return {"total_mb": total, "lambda_mb": lambdas, "lambda_processes": count}


def role_of(pid: int) -> str | None:
    """localstack (one Python process), dynamodb-local (Java) or lambda (our executor's processes); None if gone."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    if b"localstack.runtime.main" in command:
        return "localstack"
    return "dynamodb-local" if b"DynamoDBLocal" in command else "lambda"


def stack_cpu_seconds() -> dict[str, float]:
    """CPU seconds (user + system) used so far by the stack's processes, summed by role: localstack (one Python
    process, so one core at most), dynamodb-local (Java) and lambda (our executor's function processes).

    Lambda processes come and go (an idle one ends after LAMBDA_KEEPALIVE_MS): one that has ended counts in its
    parent's children's times once reaped, its template's or LocalStack's, which are counted as lambda too. Counting
    only the live ones made the figure fall, even below zero, across a series."""
    used: dict[str, float] = {"localstack": 0.0, "dynamodb-local": 0.0, "lambda": 0.0}
    for pid in stackctl.processes_of_this_stack():
        try:
            own, reaped = cpu_times(pid)
        except OSError:
            continue  # gone meanwhile
        if role := role_of(pid):
            used[role] += own
            # Reaped children: LocalStack reaps the environments it started and the templates; a template its forks.
            used["lambda"] += reaped if role in ("localstack", "lambda") else 0.0
    return used


NOOP_HANDLER = "def handler(event, context):\n    return event\n"


def new_function(
    client, code: str | bytes = NOOP_HANDLER, env: dict[str, str] | None = None, layers: list[str] | None = None
) -> str:
    """A new python3.13 function with this handler.py (or this zip) and layers (a new one has no warm environment
    yet); its name."""
    if isinstance(code, str):
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as bundle:
            bundle.writestr("handler.py", code)
        code = archive.getvalue()
    name = f"bench-{uuid.uuid4().hex[:8]}"
    client.create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role="arn:aws:iam::000000000000:role/bench",
        Handler="handler.handler",
        Code={"ZipFile": code},
        Environment={"Variables": env or {}},
        Layers=layers or [],
    )
    client.get_waiter("function_active_v2").wait(FunctionName=name)
    return name


def use_local_stack() -> None:
    """Point boto3 at the checkout's stack (LOCALSTACK_PORT, default 4566) with LocalStack's test credentials."""
    os.environ.update(
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{int(os.environ.get('LOCALSTACK_PORT') or 4566)}",
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION="us-east-1",
    )


def timed_invoke(client, name: str, payload: bytes = b"{}") -> float:
    started = time.perf_counter()
    response = client.invoke(FunctionName=name, Payload=payload)
    response["Payload"].read()
    assert "FunctionError" not in response, response
    return (time.perf_counter() - started) * 1000


def main() -> None:
    use_local_stack()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invokes", type=int, default=200)
    args = parser.parse_args()

    rows: list[tuple[str, str, str]] = []
    started_here = subprocess.run([sys.executable, stackctl.__file__, "status"], capture_output=True).returncode != 0
    if started_here:
        began = time.perf_counter()
        subprocess.run([sys.executable, stackctl.__file__, "up"], check=True, capture_output=True)
        rows.append(("`make up` to ready", f"{time.perf_counter() - began:.2f} s", "≤ 10 s"))
    try:
        client = boto3.client("lambda")
        client.list_functions()
        rows.append(("stack RSS, idle", f"{stack_rss_mb():.0f} MB", "—"))
        name = new_function(client)
        rows.append(("no-op Lambda, cold invoke", f"{timed_invoke(client, name):.0f} ms", "≤ 500 ms"))
        warm = sorted(timed_invoke(client, name) for _ in range(args.invokes))
        rows.append((f"no-op Lambda, warm p50 of {args.invokes}", f"{statistics.median(warm):.1f} ms", "≤ 15 ms"))
        rows.append((f"no-op Lambda, warm p95 of {args.invokes}", f"{warm[int(len(warm) * 0.95) - 1]:.1f} ms", "—"))
        rows.append(("stack RSS, after these invokes", f"{stack_rss_mb():.0f} MB", "—"))
        client.delete_function(FunctionName=name)
    finally:
        if started_here:
            subprocess.run([sys.executable, stackctl.__file__, "down"], check=True, capture_output=True)

    print("| figure | measured | target |\n| --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
