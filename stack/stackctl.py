"""Start, stop and report the local AWS stack: LocalStack in Docker, or LocalStack's own Python runtime (embedded).

    python stack/stackctl.py up|down|status [--mode auto|docker|embedded]

Standard library only, so it runs before any venv exists. Settings come from the environment:
LOCALSTACK_PORT (default 4566) and STACK (auto: docker when a Docker engine answers, else embedded);
DEBUG_FUNCTION=<name> (embedded only; auto then means embedded) makes that function wait for a debugpy client on
127.0.0.1:DEBUG_PORT (default 5678), see the README's "Debugging a function".
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STACK_DIR = REPO / ".stack"
STATE_FILE = STACK_DIR / "stack.json"  # {"mode", "port", "pid"} of the stack we started
LOG_FILE = STACK_DIR / "localstack.log"
FILESYSTEM_ROOT = STACK_DIR / "root"
HOST = "127.0.0.1"
READY_TIMEOUT_S = 90

# The services the product uses, plus what Terraform and the AWS CLI ask for along the way.
SERVICES = "s3,lambda,stepfunctions,dynamodb,apigateway,ses,sns,sqs,cloudwatch,iam,sts,logs,events,ssm"
# Local pacing of the failure path (docs/stack.md): a failed upload event is retried after 1 s and 2 s instead of
# AWS's minutes, and queue depths reach CloudWatch every 10 s instead of every minute, so alarms follow in seconds.
FAST_FAILURE_SETTINGS = {"LAMBDA_RETRY_BASE_DELAY": "1", "SQS_CLOUDWATCH_METRICS_REPORT_INTERVAL": "10"}


def embedded_environment(port: int) -> dict[str, str]:
    """LocalStack's settings for host mode; each line is a trap measured on our machines (docs/stack.md)."""
    runtimes = STACK_DIR / "runtimes"
    return {
        **os.environ,
        "OVERRIDE_IN_DOCKER": "0",  # our machines have /.dockerenv; without this it writes to /var/lib, /etc
        "FILESYSTEM_ROOT": str(FILESYSTEM_ROOT),
        "GATEWAY_LISTEN": f"{HOST}:{port}",
        # LocalStack's default server (twisted, 25 % faster than hypercorn here), bound to HOST by our plugin
        "GATEWAY_SERVER": "twisted-loopback",
        "LOCALSTACK_HOST": f"localhost.localstack.cloud:{port}",
        "SERVICES": SERVICES,
        "DISABLE_EVENTS": "1",  # no analytics
        "SKIP_SSL_CERT_DOWNLOAD": "1",  # offline; also makes start-up 2 s instead of 78 s
        "DNS_ADDRESS": "0",  # no DNS server (it would bind port 53 and resolve upstream)
        "DYNAMODB_IN_MEMORY": "1",  # 2.5x the write rate of the on-disk default; the stack is throwaway
        "LAMBDA_RUNTIME_EXECUTOR": "process",  # our plugin: stack/lambda_executor
        "PROCESS_EXECUTOR_RUNTIMES_DIR": str(runtimes),
        # Provider 3.39 (offline Terraform) only knows python3.8; such functions run on what AWS will run.
        "PROCESS_EXECUTOR_RUNTIME_ALIASES": os.environ.get("PROCESS_EXECUTOR_RUNTIME_ALIASES", "python3.8=python3.13"),
        **{name: os.environ.get(name, value) for name, value in FAST_FAILURE_SETTINGS.items()},
        # An idle execution environment ends after a minute, not LocalStack's ten: a burst of 30 payments otherwise
        # kept about 80 processes (2.7 GB) alive; forks from a warm template make the next cold start cheap.
        "LAMBDA_KEEPALIVE_MS": os.environ.get("LAMBDA_KEEPALIVE_MS", "60000"),
        **debugger_settings(),
    }


def debugger_settings() -> dict[str, str]:
    """The executor's settings for DEBUG_FUNCTION (stack/lambda_executor, debugger.py); none without it."""
    function = os.environ.get("DEBUG_FUNCTION")
    if not function:
        return {}
    return {
        "PROCESS_EXECUTOR_DEBUG_FUNCTION": function,
        "PROCESS_EXECUTOR_DEBUG_PORT": os.environ.get("DEBUG_PORT") or "5678",
        # The environment starts only once a client has attached (and module-level code may sit on a breakpoint):
        # LocalStack's 20 s start-up limit would end it first.
        "LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT": os.environ.get("LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT") or "3600",
    }


# --- small helpers -----------------------------------------------------------------------------------------------


def health(port: int) -> dict | None:
    """LocalStack's health document, or None when nothing answers on the port."""
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/_localstack/health", timeout=2) as response:
            return json.load(response)
    except (OSError, urllib.error.URLError, ValueError):
        return None


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the server does: connections of a stopped stack in TIME_WAIT must not count, a listener must.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def docker_engine_answers() -> bool:
    if not shutil.which("docker"):
        return False
    probe = subprocess.run(["docker", "info"], capture_output=True, timeout=20)
    return probe.returncode == 0


def read_state() -> dict | None:
    try:
        return json.loads(STATE_FILE.read_text())
    except (OSError, ValueError):
        return None


def write_state(mode: str, port: int, pid: int | None) -> None:
    STACK_DIR.mkdir(exist_ok=True)
    debugging = debugger_settings() if mode == "embedded" else {}
    STATE_FILE.write_text(
        json.dumps(
            {
                "mode": mode,
                "port": port,
                "pid": pid,
                "debug_function": debugging.get("PROCESS_EXECUTOR_DEBUG_FUNCTION"),
                "debug_port": debugging.get("PROCESS_EXECUTOR_DEBUG_PORT"),
            }
        )
    )


def stack_is_running(state: dict) -> bool:
    if state["mode"] == "embedded" and not process_alive(state["pid"]):
        return False
    return health(state["port"]) is not None


def wait_until_ready(port: int, started: float, still_starting) -> None:
    """Return when every service we asked for is available; exit with the log's tail if start-up fails."""
    wanted = set(SERVICES.split(","))
    while time.monotonic() - started < READY_TIMEOUT_S:
        if not still_starting():
            fail_with_log("LocalStack exited during start-up")
        document = health(port)
        if document:
            states = document.get("services", {})
            if all(states.get(name) in ("available", "running") for name in wanted):
                return
        time.sleep(0.2)
    fail_with_log(f"LocalStack was not ready within {READY_TIMEOUT_S} s")


def fail_with_log(message: str) -> None:
    tail = LOG_FILE.read_text(errors="replace").splitlines()[-30:] if LOG_FILE.exists() else []
    sys.exit("\n".join([f"stackctl: {message}; last lines of {LOG_FILE}:", *tail]))


def port_taken_error(port: int) -> None:
    sys.exit(
        f"stackctl: port {port} on {HOST} is already in use by another program. "
        "Stop it, or choose another port: make up LOCALSTACK_PORT=<port> "
        "(and use the same setting for later commands)."
    )


# --- the two modes -----------------------------------------------------------------------------------------------


def up_embedded(port: int) -> None:
    python = STACK_DIR / "venv" / "bin" / "python"
    if not python.exists():
        sys.exit("stackctl: the embedded stack is not installed yet: run `make setup` first")
    if not port_is_free(port):
        port_taken_error(port)
    STACK_DIR.mkdir(exist_ok=True)
    started = time.monotonic()
    with LOG_FILE.open("wb") as log:
        # A session of its own: Ctrl-C in the terminal that ran `make up` must not stop the stack.
        process = subprocess.Popen(
            [str(python), "-m", "localstack.runtime.main"],
            cwd=STACK_DIR,
            env=embedded_environment(port),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    write_state("embedded", port, process.pid)
    wait_until_ready(port, started, lambda: process.poll() is None)
    print(
        f"stack up: embedded LocalStack (pid {process.pid}) at http://{HOST}:{port} "
        f"in {time.monotonic() - started:.1f} s"
    )


def processes_of_this_stack() -> list[int]:
    """Every process started from this checkout's .stack/: LocalStack, DynamoDB Local (LocalStack gives it a
    session of its own, and it outlives a crashed LocalStack) and the Lambda processes of our executor."""
    marker = str(STACK_DIR).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue  # gone meanwhile, or not ours to read
    return found


def function_processes(function_name: str) -> list[int]:
    """The runtime processes of one Lambda function in this embedded stack, started or forked from a template of its
    runtime: those working in its code folder, which LocalStack names after it (`.../<name>-<uuid>/code`; a
    hot-reloading function works in its own folder instead). Their environment is no guide: a fork's
    /proc/<pid>/environ still shows its template's."""
    found = []
    for pid in processes_of_this_stack():
        try:
            if f"/{function_name}-" in os.readlink(f"/proc/{pid}/cwd"):
                found.append(pid)
        except OSError:
            continue  # gone meanwhile
    return found


def down_embedded(state: dict) -> None:
    if process_alive(state["pid"]):
        os.kill(state["pid"], signal.SIGTERM)  # LocalStack stops its services and our executor its processes
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and process_alive(state["pid"]):
            time.sleep(0.1)
    for pid in processes_of_this_stack():  # whatever is left, e.g. after a crash
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def compose(port: int, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LOCALSTACK_PORT": str(port)}
    return subprocess.run(["docker", "compose", "-f", str(REPO / "docker-compose.yml"), *args], env=env, cwd=REPO)


def up_docker(port: int) -> None:
    if not port_is_free(port):
        port_taken_error(port)
    started = time.monotonic()
    if compose(port, "up", "--detach").returncode != 0:
        sys.exit("stackctl: docker compose could not start LocalStack (see its output above)")
    write_state("docker", port, None)
    wait_until_ready(port, started, lambda: True)
    print(f"stack up: LocalStack in Docker at http://{HOST}:{port} in {time.monotonic() - started:.1f} s")


# --- commands ----------------------------------------------------------------------------------------------------


def choose_mode(requested: str) -> str:
    if os.environ.get("DEBUG_FUNCTION"):
        if requested == "docker":
            sys.exit("stackctl: DEBUG_FUNCTION works with the embedded stack only (make up STACK=embedded)")
        return "embedded"  # the one mode whose Lambda processes we start, so the one that can wait for a debugger
    if requested in ("docker", "embedded"):
        return requested
    return "docker" if docker_engine_answers() else "embedded"


def cmd_up(args: argparse.Namespace) -> None:
    state = read_state()
    if state and stack_is_running(state):
        wanted, running = os.environ.get("DEBUG_FUNCTION"), state.get("debug_function")
        if wanted and wanted != running:  # LocalStack reads it once, at start-up
            sys.exit(
                f"stackctl: the running stack was started with DEBUG_FUNCTION={running or ''}: "
                f"`make down` first, then `make up DEBUG_FUNCTION={wanted}` and `make deploy`"
            )
        print(f"stack already up: {state['mode']} at http://{HOST}:{state['port']}")
        return
    if state and state["mode"] == "embedded":
        down_embedded(state)  # a stale pid file after a crash: clear what is left and start afresh
    STATE_FILE.unlink(missing_ok=True)
    mode = choose_mode(args.mode)
    (up_docker if mode == "docker" else up_embedded)(args.port)


def cmd_down(_: argparse.Namespace) -> None:
    state = read_state()
    if not state:
        print("stack down: nothing was running")
        return
    if state["mode"] == "docker":
        compose(state["port"], "down", "--volumes")
    else:
        down_embedded(state)
    STATE_FILE.unlink(missing_ok=True)
    print(f"stack down: {state['mode']} stack on port {state['port']} stopped")


def cmd_status(_: argparse.Namespace) -> None:
    state = read_state()
    if not state or not stack_is_running(state):
        print("stack: not running")
        sys.exit(3)
    services = health(state["port"]).get("services", {})
    used = {name: services.get(name, "?") for name in SERVICES.split(",")}
    pid = f", pid {state['pid']}" if state["pid"] else ""
    print(f"stack: running, mode {state['mode']}{pid}, endpoint http://{HOST}:{state['port']}")
    if state.get("debug_function"):
        print(f"debugger: {state['debug_function']} waits for a debugpy client on {HOST}:{state['debug_port']}")
    print("services: " + ", ".join(f"{name} {status}" for name, status in used.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--mode", default=os.environ.get("STACK") or "auto", choices=["auto", "docker", "embedded"])
    parser.add_argument("--port", type=int, default=int(os.environ.get("LOCALSTACK_PORT") or 4566))
    args = parser.parse_args()
    {"up": cmd_up, "down": cmd_down, "status": cmd_status}[args.command](args)


if __name__ == "__main__":
    main()
