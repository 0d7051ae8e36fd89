"""`make test`: every suite, in as little wall time as the stack allows, with nothing dropped.

The suites mostly wait on the stack (a payment takes seconds of workflow, not of CPU), so they run side by side:
  1. the unit tests run while the stack starts and the deployment is applied (once, not once per worker); beside
     them, as soon as the stack answers, the files of tests/conftest.py's ON_OWN_STACK, which start a stack of their
     own and need nothing deployed, one test at a time in a lane of their own;
  2. the tests that share the deployment run in WORKERS parallel workers, each test on whichever worker is free,
     except the files of tests/conftest.py's KEEP_TOGETHER (deploy.py turns, the failure queue), each whole on one
     worker; beside them, in lanes of their own, one test at a time:
     - the tests of tests/conftest.py's ON_OWN_DEPLOYMENT, which redeploy or break what they run on, on a second
       deployment (tests/helpers/stack.py OWN_DEPLOYMENT), applied as soon as the first one is;
     - those of MOSTLY_WAITING, which sleep most of their time, on the first deployment, so that they hold no
       parallel worker idle;
  each lane's output (build/<lane>-tests.log) is printed when the parallel workers are done;
  3. the RUN_LAST tests (the reliability report, the card scan) run last, in suite order.
A stack this run started is stopped at the end. Extra arguments go to every pytest run (e.g. -x, -k name).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TextIO

from tests.conftest import RUN_APART
from tests.helpers.stack import DEPLOY, OWN_DEPLOYMENT, REPO, STACKCTL, stack_is_up

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


LOGS = REPO / "build"


def pytest(*args: str, env: dict[str, str], output: TextIO | None = None) -> tuple[int, float]:
    started = time.monotonic()
    code = subprocess.run(
        [sys.executable, "-m", "pytest", *args], cwd=REPO, env=env, stdout=output, stderr=output
    ).returncode
    return code, time.monotonic() - started


def lane_log(name: str) -> Path:
    return LOGS / f"{name.replace(' ', '-')}-tests.log"


def files_of(marker: str) -> list[str]:
    """The files that hold one RUN_APART marker's tests, in the stack suites' order: a lane collects (imports) only
    them, 1.7 CPU-s less than all of STACK_SUITES, on a machine that is CPU-bound through the run."""
    files = {where.split("::")[0] for where in RUN_APART[marker]}
    return sorted(
        files, key=lambda file: (next(i for i, s in enumerate(STACK_SUITES) if file.startswith(f"{s}/")), file)
    )


def one_at_a_time(
    marker: str, extra: list[str], env: dict[str, str], output: TextIO | None = None
) -> tuple[int, float]:
    """The tests of one marker of tests/conftest.py's RUN_APART, in one process."""
    return pytest("-p", "no:xdist", "-m", marker, *files_of(marker), *extra, env=env, output=output)


def in_background(name: str, marker: str, extra: list[str], env: dict[str, str], after: Future) -> tuple[int, float]:
    """Once `after` is done, the tests of one marker, whose output goes to the lane's log."""
    after.result()
    with lane_log(name).open("w") as log:
        return one_at_a_time(marker, extra, env, output=log)


def start(started_here: bool) -> None:
    if started_here:
        subprocess.run([*STACKCTL, "up"], check=True)


def deploy(stack_up: Future) -> None:
    stack_up.result()
    subprocess.run(DEPLOY, check=True, stdout=subprocess.DEVNULL)


def on_own_deployment(first_deployed: Future, extra: list[str], env: dict[str, str]) -> tuple[int, float]:
    """Once the first deployment is applied (deploy.py runs take turns anyway), apply the second one, then run the
    tests that change or break theirs on it, one at a time."""
    first_deployed.result()
    started = time.monotonic()
    env = {**env, **OWN_DEPLOYMENT}
    with lane_log("own deployment").open("w") as log:
        applied = subprocess.run(DEPLOY, env=env, stdout=log, stderr=log).returncode
        if applied != 0:
            return applied, time.monotonic() - started
        code, _ = one_at_a_time("own_deployment", extra, env, output=log)
    return code, time.monotonic() - started


def main(extra: list[str]) -> int:
    # One run id: the reliability figures of every worker and phase add up in one report (tests/reliability).
    env = {**os.environ, "PAYPROC_TEST_RUN": uuid.uuid4().hex}
    deployed = {**env, "PAYPROC_DEPLOYED": "1"}  # tests/conftest.py: read the outputs, do not apply again per worker
    started_here = not stack_is_up()
    results: list[tuple[str, int, float]] = []
    LOGS.mkdir(exist_ok=True)  # the background lanes' logs
    try:
        with ThreadPoolExecutor(max_workers=5) as background:
            print(
                f"==> unit tests, while {'the stack starts and ' if started_here else ''}the deployment is applied "
                f"and the tests with a stack of their own start (output: {lane_log('own stack').relative_to(REPO)})",
                flush=True,
            )
            stack_up = background.submit(start, started_here)
            stack = background.submit(deploy, stack_up)
            lanes = {
                "own stack": background.submit(in_background, "own stack", "own_stack", extra, env, stack_up),
                "own deployment": background.submit(on_own_deployment, stack, extra, deployed),
                "mostly waiting": background.submit(
                    in_background, "mostly waiting", "mostly_waiting", extra, deployed, stack
                ),
            }
            # First, so their output comes first. Tried beside the stack suites instead: about 457 s against 486 s
            # for a whole run from a stopped stack, one run each, less than the spread between runs.
            # In one process: the lanes beside them keep both cores busy, and two workers cost 58 CPU-s against 38.
            results.append(("unit", *pytest("-p", "no:xdist", *UNIT_SUITES, *extra, env=env)))
            stack.result()  # a stack that cannot start or deploy ends the run here, with its own error
            print(
                f"==> the suites that share the deployment, in {WORKERS} parallel workers; beside them, the tests "
                f"with a stack of their own, those that change their deployment, on one of their own, and those that "
                f"mostly wait (output: {', '.join(str(lane_log(name).relative_to(REPO)) for name in lanes)})",
                flush=True,
            )
            shared = " and ".join(f"not {marker}" for marker in RUN_APART)
            results.append(
                (
                    "shared",
                    *pytest("-n", WORKERS, "--dist", "loadgroup", "-m", shared, *STACK_SUITES, *extra, env=deployed),
                )
            )
            for name, lane in lanes.items():
                results.append((name, *lane.result()))
                print(f"==> {name} ({lane_log(name).relative_to(REPO)}):", flush=True)
                print(lane_log(name).read_text(), flush=True)
        print("==> the tests that run last (tests/conftest.py RUN_LAST)", flush=True)
        results.append(("last", *one_at_a_time("run_last", extra, deployed)))
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
