"""What every benchmark module shares: the stack's endpoint and clients, figures, percentiles, bounded polling."""

from __future__ import annotations

import json
import math
import os
import statistics
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, TypeVar

import boto3
from botocore.config import Config

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
T = TypeVar("T")


@dataclass
class Stack:
    """The stack a run measures: its port and the deployment's outputs (build/outputs.json)."""

    port: int
    outputs: dict[str, Any]

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def client(self, service: str, read_timeout: int = 60, pool: int = 16) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(read_timeout=read_timeout, max_pool_connections=pool, retries={"max_attempts": 2}),
        )

    def function(self, name: str) -> str:
        return self.outputs["function_names"][name]


def load_outputs(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def deployed_settings(lambdas: Any, function_name: str) -> dict[str, Any]:
    """A deployed function's runtime, environment variables and layer ARNs, for a copy of it the bench creates."""
    deployed = lambdas.get_function_configuration(FunctionName=function_name)
    return {
        "runtime": deployed["Runtime"],
        "env": deployed.get("Environment", {}).get("Variables", {}),
        "layers": [layer["Arn"] for layer in deployed.get("Layers", [])],
    }


@dataclass
class Figure:
    """One row of the results table: a measurement, what it is compared with (same run), the target."""

    section: str
    name: str
    value: float | None
    unit: str
    baseline: float | None = None
    baseline_label: str = ""
    ceiling: float | None = None
    ceiling_label: str = ""
    target: str = ""
    met: bool | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def cpu_times(pid: int) -> tuple[float, float]:
    """CPU seconds (user + system) a process has used, and those of its children it has reaped (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks, (int(fields[13]) + int(fields[14])) / ticks


def median_ms(call: Callable[[], object], repeat: int) -> float:
    """The median wall time of `repeat` calls, in milliseconds (for single-threaded work, so wall time is its CPU)."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def poll(check: Callable[[], T | None], timeout_s: float, interval_s: float = 0.05) -> T:
    """Call check() until it returns something not None; raise TimeoutError after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = check()
        if found is not None:
            return found
        if time.monotonic() >= deadline:
            raise TimeoutError(f"not done within {timeout_s:.0f} s")
        time.sleep(interval_s)


class Periodic:
    """A context manager that calls tick() every interval_s on a daemon thread while it is entered."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def tick(self) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(self.interval_s)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def run_id() -> str:
    return os.environ.get("BENCH_RUN_ID") or time.strftime("%Y%m%d-%H%M%S")


def id_base() -> int:
    """First invoice id of this run: run-unique, far above what the seed and the tests use, below 2**53."""
    return 10**13 + (int(time.time()) % 10**5) * 10**8


# Disjoint invoice-id ranges of one run (10**7 ids each).
ID_RANGES = {
    "ingest": 0,
    "ceiling": 1,
    "baseline": 2,
    "fanout": 3,
    "million": 4,
    "api": 5,
    "payments": 6,
    "burst": 7,
}


def ids_for(base: int, purpose: str) -> int:
    return base + ID_RANGES[purpose] * 10**7
