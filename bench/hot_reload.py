"""Hot reload (`make dev`): how long from saving an edit until an invocation answers with the new code, and what the
executor's look for a change costs each warm invoke.

A throwaway copy of get_balance set up as `make dev` sets ours: a scratch functions/ folder mirrored with lib/ beside
it by stack/hot_reload.py's watcher (running in this process), deployed from LocalStack's `hot-reload` bucket with
the deployed get_balance's layers and environment. Each round saves a new version of its handler.py (a new file
renamed over the old one, as editors save) and invokes it back to back until the answer carries that version: the
latency runs from the save to that answer, so it holds the watcher, the mirror, the executor's check and the start
of a fresh process (payproc, powertools and boto3 imported again).

Compared in the same run: the same edit shipped as `make deploy` ships code, a zip through UpdateFunctionCode (the
least a deploy does for one function; `make deploy` runs Terraform around it), and the warm invoke of each
function in alternating blocks, whose ratio is what the look for a change costs.
"""

from __future__ import annotations

import io
import json
import shutil
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

from bench.common import REPO, Stack, deployed_settings, poll
from bench.scaffold import Scaffold

sys.path[:0] = [str(REPO / "stack"), str(REPO / "stack" / "lambda_executor" / "src")]
import hot_reload  # noqa: E402
from localstack_process_executor.code_state import code_state  # noqa: E402

FUNCTION = "get_balance"
MESSAGE = 'f"invoice {invoice_id} not found"'  # what each round's version edits in its handler.py
UNKNOWN_INVOICE = 1  # no bill has it: the handler answers 404 with that message
WARM_BLOCKS = 4


def versioned(source: str, version: int) -> str:
    return source.replace(MESSAGE, f'f"invoice {{invoice_id}} not found, version {version}"')


def save(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.swp")
    partial.write_text(text)
    partial.replace(path)


def message(client: Any, name: str) -> str:
    """The function's answer to a request for an unknown invoice: its 404 message."""
    response = client.invoke(
        FunctionName=name,
        Payload=json.dumps(
            {"pathParameters": {"InvoiceID": str(UNKNOWN_INVOICE)}, "requestContext": {"requestId": "bench"}}
        ).encode(),
    )
    body = json.loads(response["Payload"].read())
    if "FunctionError" in response:
        raise RuntimeError(f"{name} failed: {body}")
    return json.loads(body["body"])["message"]


def until_answered(client: Any, name: str, version: int, since: float, timeout_s: float = 60) -> float:
    """Invoke back to back until the answer carries the version; ms from `since` (perf_counter) to that answer."""
    poll(lambda: True if message(client, name).endswith(f"version {version}") else None, timeout_s, interval_s=0)
    return (time.perf_counter() - since) * 1000


def zipped(folder: Path) -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in sorted(folder.rglob("*.py")):
            bundle.write(path, path.relative_to(folder).as_posix())
    return archive.getvalue()


def warm_invokes(client: Any, name: str, count: int) -> list[float]:
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        message(client, name)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def measure(stack: Stack, scaffold: Scaffold, rounds: int, invokes: int) -> dict[str, Any]:
    client = stack.client("lambda")
    settings = dict(deployed_settings(client, stack.function(FUNCTION)), timeout=30, memory=256)
    scratch = Path(tempfile.mkdtemp(prefix="bench-hot-reload-"))
    try:
        functions, out = scratch / "functions", scratch / "hot-reload"
        shutil.copytree(
            REPO / "functions" / FUNCTION, functions / FUNCTION, ignore=shutil.ignore_patterns("__pycache__")
        )
        handler = functions / FUNCTION / "handler.py"
        original = handler.read_text()
        if MESSAGE not in original:
            raise RuntimeError(f"functions/{FUNCTION}/handler.py no longer has {MESSAGE}: update bench/hot_reload.py")
        save(handler, versioned(original, 0))
        hot_reload.mirror(functions, REPO / "lib", out)
        folder = out / FUNCTION
        hot = scaffold.function("hot-reload", folder, **settings)
        zip_function = scaffold.function("zip", zipped(folder), **settings)
        for name in (hot, zip_function):
            until_answered(client, name, 0, time.perf_counter())  # started once: both warm

        stop, mirrored_at = threading.Event(), []
        watcher = threading.Thread(
            target=hot_reload.watch,
            args=(functions, REPO / "lib", out, lambda _: mirrored_at.append(time.perf_counter()), stop),
        )
        watcher.start()
        hot_latencies, mirror_latencies, zip_latencies = [], [], []
        try:
            for version in range(1, rounds + 1):
                time.sleep(1)  # the watcher and the machine idle before each save
                mirrored_at.clear()
                saved = time.perf_counter()
                save(handler, versioned(original, version))
                hot_latencies.append(until_answered(client, hot, version, saved))
                mirror_latencies.append((mirrored_at[0] - saved) * 1000)
        finally:
            stop.set()
            watcher.join()
        for version in range(rounds + 1, 2 * rounds + 1):
            save(handler, versioned(original, version))
            hot_reload.mirror(functions, REPO / "lib", out)  # the zip's files: the same as the folder's
            time.sleep(1)
            shipped = time.perf_counter()
            client.update_function_code(FunctionName=zip_function, ZipFile=zipped(folder))
            client.get_waiter("function_updated_v2").wait(FunctionName=zip_function)
            zip_latencies.append(until_answered(client, zip_function, version, shipped))

        warm: dict[str, list[float]] = {"hot reload": [], "zip": []}
        for _ in range(WARM_BLOCKS):  # alternating blocks: a drift of the machine's speed hits both
            warm["hot reload"] += warm_invokes(client, hot, invokes // WARM_BLOCKS)
            warm["zip"] += warm_invokes(client, zip_function, invokes // WARM_BLOCKS)

        files = len(code_state(folder))
        started = time.perf_counter()
        for _ in range(1000):
            code_state(folder)
        check_us = (time.perf_counter() - started) * 1000
    finally:
        shutil.rmtree(scratch)
    return {
        "edit_to_answer_ms": hot_latencies,
        "edit_to_mirrored_ms": mirror_latencies,
        "zip_update_to_answer_ms": zip_latencies,
        "warm_ms": warm,
        "check_us": check_us,
        "files": files,
    }
