"""`make test`: every suite, in as little wall time as the stack allows, with nothing dropped.

The suites mostly wait on the stack (a payment takes seconds of workflow, not of CPU), so they run in parallel
workers (pytest-xdist), except the tests in tests/conftest.py's RUN_ALONE, which change what the others rely on
or must see everything the others left; those run after, one at a time. Meanwhile:
  1. the unit tests run while the stack starts and the deployment is applied (once, not once per worker);
  2. the tests that share the deployment run in WORKERS parallel workers, each test on whichever worker is free,
     except the files of tests/conftest.py's KEEP_TOGETHER (a stack of their own...), each whole on one worker;
  3. the RUN_ALONE tests run alone, in suite order (the card scan last).
A stack this run started is stopped at the end. Extra arguments go to every pytest run (e.g. -x, -k name).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from tests.support import DEPLOY, REPO, STACKCTL, stack_is_up

UNIT_SUITES = ["tests/unit", "stack/lambda_executor/tests"]  # no stack needed
STACK_SUITES = [
    "tests/stack",
    "tests/terraform",
    "tests/integration",
    "tests/browser",
    "tests/reliability",
    "tests/security",
]
# The stack is idle much of the time a test waits; on two cores a fourth worker gained nothing (239 s against 249 s
# for the shared phase) and slowed the CPU-bound tests (the fuzzing 27 s -> 71 s), so three.
WORKERS = os.environ.get("TEST_WORKERS", "3")


def pytest(*args: str, env: dict[str, str]) -> tuple[int, float]:
    started = time.monotonic()
    code = subprocess.run([sys.executable, "-m", "pytest", *args], cwd=REPO, env=env).returncode
    return code, time.monotonic() - started


def start_and_deploy(started_here: bool) -> None:
    if started_here:
        subprocess.run([*STACKCTL, "up"], check=True)
    subprocess.run(DEPLOY, check=True, stdout=subprocess.DEVNULL)


def main(extra: list[str]) -> int:
    # One run id: the reliability figures of every worker and phase add up in one report (tests/reliability).
    env = {**os.environ, "PAYPROC_TEST_RUN": uuid.uuid4().hex}
    started_here = not stack_is_up()
    results: list[tuple[str, int, float]] = []
    try:
        with ThreadPoolExecutor(max_workers=1) as background:
            print(
                f"==> unit tests, while {'the stack starts and ' if started_here else ''}the deployment is applied",
                flush=True,
            )
            stack = background.submit(start_and_deploy, started_here)
            results.append(("unit", *pytest("-n", "2", *UNIT_SUITES, *extra, env=env)))
            stack.result()  # a stack that cannot start or deploy ends the run here, with its own error
        env["PAYPROC_DEPLOYED"] = "1"  # tests/conftest.py: read the outputs, do not apply again per worker
        print(f"==> the suites that share the deployment, in {WORKERS} parallel workers", flush=True)
        results.append(
            (
                "shared",
                *pytest("-n", WORKERS, "--dist", "loadgroup", "-m", "not run_alone", *STACK_SUITES, *extra, env=env),
            )
        )
        print("==> the tests that run alone (tests/conftest.py RUN_ALONE)", flush=True)
        results.append(("alone", *pytest("-p", "no:xdist", "-m", "run_alone", *STACK_SUITES, *extra, env=env)))
    finally:
        if started_here:
            subprocess.run([*STACKCTL, "down"])
    # Exit 5 is pytest's "no tests collected": e.g. -k that selects none in one phase.
    failed = [name for name, code, _ in results if code not in (0, 5)]
    print(
        "==> "
        + ", ".join(
            f"{name} {'passed' if code in (0, 5) else 'FAILED'} in {seconds:.0f} s" for name, code, seconds in results
        )
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
