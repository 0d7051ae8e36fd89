"""The stack a benchmark run measures: a dedicated one it starts, deploys and stops, or the one already up.

stackctl keeps one stack per checkout (one state file, one `.stack/root`, and `make down` kills every process
started from the checkout's `.stack/`), so a dedicated stack is the checkout's own stack: when none is running,
`make bench` times `make up` and a fresh `make deploy` (its own Terraform workspace, payment wait 0, outputs in
build/), measures, then removes the workspace and runs `make down`. When the checkout's stack is already up, it is
used as deployed (nothing redeployed or reconfigured) and the start-up and deploy figures are not measured. For a
complete run on a machine whose checkout serves a shared stack, run it from a clone on another port (bench/README.md).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import REPO, Stack, load_outputs

sys.path.insert(0, str(REPO / "stack"))
import stackctl  # noqa: E402


@dataclass
class StackSession:
    stack: Stack
    own: bool
    timings: dict[str, float] = field(default_factory=dict)
    workspace: str | None = None

    def payment_wait_seconds(self) -> str:
        lambdas = self.stack.client("lambda")
        env = lambdas.get_function_configuration(FunctionName=self.stack.function("start_payment"))["Environment"]
        return env["Variables"].get("PAYMENT_WAIT_SECONDS", "?")


def _make(target: str, env: dict[str, str], timeout_s: int) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        ["make", "--no-print-directory", "-C", str(REPO), target],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"make {target} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return seconds, done.stdout


def open_session(port: int, run: str) -> StackSession:
    env = {
        **os.environ,
        "LOCALSTACK_PORT": str(port),
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "STACK": "embedded",
    }
    state = stackctl.read_state()
    if stackctl.health(port) is not None:
        outputs_path = Path(os.environ.get("DEPLOY_OUTPUTS") or REPO / "build" / "outputs.json")
        outputs = load_outputs(outputs_path)
        if f":{port}/" not in outputs["api_url"]:
            sys.exit(f"bench: {outputs_path} describes another stack ({outputs['api_url']}), not port {port}")
        return StackSession(Stack(port, outputs), own=False)
    if state and stackctl.stack_is_running(state):
        sys.exit(
            f"bench: this checkout already runs a stack on port {state['port']} and stackctl keeps one stack "
            f"per checkout; run `make bench LOCALSTACK_PORT={state['port']}` to measure it, or run the bench "
            "from a clone (bench/README.md) for a dedicated stack."
        )
    session = StackSession(Stack(port, {}), own=True)
    try:
        seconds, out = _make("up", env, timeout_s=300)
        session.timings["make up"] = seconds
        if found := re.search(r"in ([0-9.]+) s", out):
            session.timings["stackctl up"] = float(found.group(1))
        session.workspace = f"bench-{run}"
        outputs_path = REPO / "build" / f"bench-outputs-{run}.json"
        deploy_env = {
            **env,
            "TF_WORKSPACE": session.workspace,
            "DEPLOY_OUTPUTS": str(outputs_path),
            "TF_VAR_payment_wait_seconds": "0",
        }
        session.timings["make deploy"], _ = _make("deploy", deploy_env, timeout_s=600)
        session.stack.outputs = json.loads(outputs_path.read_text())
        outputs_path.unlink()
    except BaseException:
        close_session(session)
        raise
    return session


def close_session(session: StackSession) -> None:
    """Stop the stack this run started and forget its Terraform workspace (its resources died with the stack)."""
    if not session.own:
        return
    subprocess.run(
        [sys.executable, stackctl.__file__, "down"],
        capture_output=True,
        timeout=120,
        env={**os.environ, "LOCALSTACK_PORT": str(session.stack.port)},
    )
    if session.workspace:
        shutil.rmtree(REPO / "terraform" / "terraform.tfstate.d" / session.workspace, ignore_errors=True)
