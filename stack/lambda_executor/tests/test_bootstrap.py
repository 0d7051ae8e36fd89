"""The runtime loop (bootstrap.py) driven over its socket exactly as executor.py drives it. Stdlib and pytest
only: no LocalStack, runs in a second or two.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from localstack_process_executor import bootstrap

BOOTSTRAP = bootstrap.__file__


class Child:
    """bootstrap.py in a child process with `source` as handler.py, the way executor.py starts it."""

    def __init__(self, tmp_path: Path, source: str, handler: str = "handler.handler") -> None:
        (tmp_path / "handler.py").write_text(textwrap.dedent(source))
        self.log = tmp_path / "out.log"
        self.channel, theirs = socket.socketpair()
        env = {
            "PATH": os.environ["PATH"],
            "PYTHONPATH": str(tmp_path),
            "_HANDLER": handler,
            "AWS_LAMBDA_FUNCTION_NAME": "fn",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        }
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-u", "-s", BOOTSTRAP, str(theirs.fileno()), str(os.getpid())],
                env=env,
                cwd=tmp_path,
                stdout=log,
                stderr=log,
                pass_fds=(theirs.fileno(),),
            )
        theirs.close()
        self.reader = self.channel.makefile("rb")
        self.channel.settimeout(10)

    def receive(self) -> dict | None:
        line = self.reader.readline()
        return json.loads(line) if line else None

    def invoke(self, event: object, request_id: str = "req-1") -> tuple[bool, object]:
        request = {
            "id": request_id,
            "arn": "arn:aws:lambda:us-east-1:000000000000:function:fn",
            "payload": json.dumps(event),
            "trace": "Root=1-abc",
            "deadline_ms": time.time() * 1000 + 3000,
        }
        self.channel.sendall(json.dumps(request).encode() + b"\n")
        reply = self.receive()
        return reply["ok"], json.loads(reply["body"])

    def close(self) -> int:
        self.reader.close()
        self.channel.close()  # end of file: the loop ends
        return self.process.wait(timeout=10)


@pytest.fixture
def child(tmp_path):
    started: list[Child] = []

    def start(source: str, handler: str = "handler.handler") -> Child:
        started.append(Child(tmp_path, source, handler))
        return started[-1]

    yield start
    for c in started:
        c.process.kill()
        c.process.wait()


def test_ready_then_invokes_reuse_the_process(child):
    c = child("""
        import os
        calls = []
        def handler(event, context):
            calls.append(event)
            return {"pid": os.getpid(), "calls": len(calls), "event": event}
        """)
    assert c.receive() == {"ready": True, "debugger": False}
    assert c.invoke({"n": 1}) == (True, {"pid": c.process.pid, "calls": 1, "event": {"n": 1}})
    assert c.invoke({"n": 2})[1]["calls"] == 2
    assert c.close() == 0


def test_context_has_aws_attributes(child):
    c = child("""
        import os
        def handler(event, context):
            names = ["function_name", "function_version", "invoked_function_arn", "memory_limit_in_mb",
                     "aws_request_id", "log_group_name", "log_stream_name"]
            return {**{n: getattr(context, n) for n in names}, "remaining": context.get_remaining_time_in_millis(),
                    "trace": os.environ["_X_AMZN_TRACE_ID"]}
        """)
    c.receive()
    ok, result = c.invoke({}, request_id="r-42")
    assert ok
    assert result["function_name"] == "fn" and result["memory_limit_in_mb"] == "256"
    assert result["aws_request_id"] == "r-42" and result["invoked_function_arn"].endswith(":function:fn")
    assert 2000 < result["remaining"] <= 3000
    assert result["trace"] == "Root=1-abc"


def test_exception_has_aws_error_shape_and_is_logged(child):
    c = child("""
        def handler(event, context):
            raise KeyError("InvoiceID")
        """)
    c.receive()
    ok, error = c.invoke({})
    assert not ok
    assert error["errorType"] == "KeyError" and error["errorMessage"] == "'InvoiceID'"
    assert error["requestId"] == "req-1"
    assert len(error["stackTrace"]) == 1 and 'handler.py", line 3, in handler' in error["stackTrace"][0]
    c.close()
    assert "[ERROR] KeyError: 'InvoiceID'\rTraceback (most recent call last):\r" in c.log.read_bytes().decode()


def test_decimals_are_numbers_and_unserialisable_results_are_marshal_errors(child):
    c = child("""
        from decimal import Decimal
        def handler(event, context):
            return {"amount": Decimal("12.50")} if event == "money" else {1, 2}
        """)
    c.receive()
    assert c.invoke("money") == (True, {"amount": 12.5})
    ok, error = c.invoke("set")
    assert not ok and error["errorType"] == "Runtime.MarshalError"


def test_print_goes_to_the_log_before_the_reply(child):
    c = child("""
        import sys
        def handler(event, context):
            print("to stdout")
            print("to stderr", file=sys.stderr)
        """)
    c.receive()
    c.invoke({})
    assert c.log.read_text() == "to stdout\nto stderr\n"


@pytest.mark.parametrize(
    ("source", "handler", "error_type", "message"),
    [
        ("x = 1\n", "missing.handler", "Runtime.ImportModuleError", "Unable to import module 'missing'"),
        ("x = 1\n", "handler.handler", "Runtime.HandlerNotFound", "Handler 'handler' missing on module 'handler'"),
        ("def handler(:\n", "handler.handler", "Runtime.UserCodeSyntaxError", "Syntax error in module 'handler'"),
        ("raise RuntimeError('no config')\n", "handler.handler", "RuntimeError", "no config"),
        ("x = 1\n", "nodot", "Runtime.MalformedHandlerName", "Bad handler 'nodot'"),
    ],
)
def test_init_errors_are_reported_then_the_process_exits(child, source, handler, error_type, message):
    c = child(source, handler)
    error = c.receive()["error"]
    assert error["errorType"] == error_type and message in error["errorMessage"]
    assert c.process.wait(timeout=10) == 0


def test_executor_modules_are_not_importable_by_the_function(child):
    c = child("""
        import importlib.util
        def handler(event, context):
            return [importlib.util.find_spec(n) is not None for n in ("bootstrap", "executor", "runtimes")]
        """)
    c.receive()
    assert c.invoke({}) == (True, [False, False, False])


def test_runtime_and_what_it_started_die_with_its_parent_even_mid_invoke(tmp_path):
    # An intermediate process plays LocalStack: it starts the runtime, whose handler starts `sleep` and sleeps;
    # then the intermediate is killed with SIGKILL. The runtime's whole process group must go.
    (tmp_path / "handler.py").write_text(
        "import subprocess, time\n"
        "def handler(event, context):\n    subprocess.Popen(['sleep', '60'])\n    time.sleep(60)\n"
    )
    script = f"""
import json, os, socket, subprocess, sys, time
ours, theirs = socket.socketpair()
child = subprocess.Popen([sys.executable, "-u", "-s", {BOOTSTRAP!r}, str(theirs.fileno()), str(os.getpid())],
                         env={{"PYTHONPATH": {str(tmp_path)!r}, "_HANDLER": "handler.handler"}},
                         pass_fds=(theirs.fileno(),), start_new_session=True)
ours.makefile("rb").readline()
ours.sendall(json.dumps({{"id": "1", "arn": "a", "payload": "{{}}", "deadline_ms": 0}}).encode() + b"\\n")
time.sleep(0.5)  # the handler has started its own child
print(child.pid, flush=True)
time.sleep(60)
"""
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    runtime_pid = int(parent.stdout.readline())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 5
    while live_members(runtime_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    leftovers = live_members(runtime_pid)
    for pid in leftovers:
        os.kill(pid, signal.SIGKILL)
    assert not leftovers, "the runtime's process group outlived its parent"


def live_members(group: int) -> list[int]:
    """Processes of the group that are not zombies (a zombie waits for init to reap it; it runs nothing)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        if int(fields[2]) == group and fields[0] != "Z":  # fields: state, ppid, pgrp, ...
            members.append(int(stat.parent.name))
    return members
