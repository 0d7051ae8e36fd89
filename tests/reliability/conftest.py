"""Fixtures of the reliability suite: the api client counting its requests, and the figures report (`bill` and
`deployment` come from tests/conftest.py).

At the end of the suite the figures (requests sent, concurrent clients, faults injected, inputs tried, lost and leaked)
are printed and written to tests/artifacts/reliability-report.json (ignored by git).
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections import Counter

import pytest

from tests.helpers.stack import REPO, Api

REPORT_PATH = REPO / "tests" / "artifacts" / "reliability-report.json"


class Figures:
    """Thread-safe counters the tests add to; the session writes them out at the end."""

    def __init__(self):
        self._lock = threading.Lock()
        self.counts: Counter = Counter()
        self.peak_clients = 0
        self.faults: list[str] = []
        self.checks: dict[str, object] = {}

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self.counts[name] += amount

    def clients(self, number: int) -> None:
        with self._lock:
            self.peak_clients = max(self.peak_clients, number)

    def fault(self, description: str) -> None:
        with self._lock:
            self.faults.append(description)

    def check(self, name: str, value: object) -> None:
        with self._lock:
            self.checks[name] = value

    def as_dict(self, seconds: float) -> dict:
        return {
            "requests_sent": self.counts["requests"],
            "peak_concurrent_clients": self.peak_clients,
            "faults_injected": len(self.faults),
            "faults": self.faults,
            "inputs_tried": {
                name[len("inputs:") :]: n for name, n in sorted(self.counts.items()) if name.startswith("inputs:")
            },
            "checks": self.checks,
            "seconds": round(seconds, 1),
        }


def merged(earlier: dict, later: dict) -> dict:
    """Two reports of one run (parallel workers, then the tests that run alone) as one."""
    inputs = Counter(earlier["inputs_tried"]) + Counter(later["inputs_tried"])
    return {
        "run": later["run"],
        "requests_sent": earlier["requests_sent"] + later["requests_sent"],
        "peak_concurrent_clients": max(earlier["peak_concurrent_clients"], later["peak_concurrent_clients"]),
        "faults_injected": earlier["faults_injected"] + later["faults_injected"],
        "faults": earlier["faults"] + later["faults"],
        "inputs_tried": dict(sorted(inputs.items())),
        "checks": {**earlier["checks"], **later["checks"]},
        "seconds": round(earlier["seconds"] + later["seconds"], 1),  # test time, summed over workers
    }


def write_report(report: dict) -> dict:
    """Write the figures, added to those already written by this run (tests/run.py's PAYPROC_TEST_RUN) if any."""
    REPORT_PATH.parent.mkdir(parents=True, exist_ok=True)
    with open(REPORT_PATH.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel workers end together
        try:
            earlier = json.loads(REPORT_PATH.read_text())
        except (OSError, ValueError):
            earlier = None
        if earlier and report["run"] and earlier.get("run") == report["run"]:
            report = merged(earlier, report)
        REPORT_PATH.write_text(json.dumps(report, indent=2) + "\n")
    return report


@pytest.fixture(scope="session")
def figures():
    collected, started = Figures(), time.monotonic()
    yield collected
    report = {"run": os.environ.get("PAYPROC_TEST_RUN"), **collected.as_dict(time.monotonic() - started)}
    print("\nreliability figures:", json.dumps(write_report(report), indent=2))


class CountedApi(Api):
    """The public API client of tests/helpers/stack.py, counting every request it sends for the report."""

    def __init__(self, base_url: str, figures: Figures, payments=None):
        super().__init__(base_url, payments=payments)
        self.figures = figures

    def balance(self, invoice_id):
        self.figures.add("requests")
        return super().balance(invoice_id)

    def pay(self, body, key=None):
        self.figures.add("requests")
        return super().pay(body, key)

    def status(self, payment_id):
        self.figures.add("requests")
        return super().status(payment_id)


@pytest.fixture
def api(deployment, figures, payments) -> CountedApi:
    return CountedApi(deployment["api_url"], figures, payments)
