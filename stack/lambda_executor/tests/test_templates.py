"""Warm templates (templates.py, bootstrap.py --template) driven as executor.py drives them: environments forked from
one template each get their own environment variables, path, modules and files, report their exit, and end with
it. Stdlib and pytest only: no LocalStack."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from localstack_process_executor import bootstrap, templates

SPAWNER = ThreadPoolExecutor(max_workers=1)


class Forked:
    """One environment forked from `template`, with `source` as handler.py in its own code folder."""

    def __init__(self, template: templates.Template, code: Path, source: str, files=None, **env: str) -> None:
        code.mkdir()
        (code / "handler.py").write_text(textwrap.dedent(source))
        for name, text in (files or {}).items():
            (code / name).write_text(text)
        self.log = tempfile.TemporaryFile()
        self.channel, theirs = socket.socketpair()
        environment = {"PATH": os.environ["PATH"], "PYTHONPATH": str(code), "_HANDLER": "handler.handler", **env}
        self.process = template.fork(environment, str(code), theirs, self.log.fileno())
        theirs.close()
        self.reader = self.channel.makefile("rb")
        self.channel.settimeout(10)
        assert json.loads(self.reader.readline()) == {"ready": True, "debugger": False}

    def invoke(self, event: object) -> object:
        request = {"id": "r", "arn": "arn", "payload": json.dumps(event), "trace": "", "deadline_ms": 1e15}
        self.channel.sendall(json.dumps(request).encode() + b"\n")
        line = self.reader.readline()
        return json.loads(json.loads(line)["body"]) if line else None

    def output(self) -> str:
        return os.pread(self.log.fileno(), 1 << 20, 0).decode()


def pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended


@pytest.fixture
def template():
    started = templates.Template(Path(sys.executable), bootstrap.__file__, SPAWNER)
    yield started
    started.stop()


MODULE_STATE = """
    import os, sys
    import shared  # a module of the same name in each function's code
    calls = []
    def handler(event, context):
        calls.append(1)
        os.environ["SET_BY_" + os.environ["NAME"]] = "1"
        return {"env": sorted(k for k in os.environ if k.startswith(("NAME", "SET_BY_"))), "cwd": os.getcwd(),
                "path0": sys.path[0], "shared": shared.WHO, "calls": len(calls), "pid": os.getpid(),
                "boto3_loaded": "boto3" in sys.modules, "fds": sorted(os.listdir("/proc/self/fd"))}
"""


def test_forks_of_one_template_share_no_state(template, tmp_path):
    forks = []
    for name in ("a", "b"):
        forks.append(Forked(template, tmp_path / name, MODULE_STATE, {"shared.py": f"WHO = {name!r}\n"}, NAME=name))
    a, b = (fork.invoke({}) for fork in forks)
    assert a["env"] == ["NAME", "SET_BY_a"] and b["env"] == ["NAME", "SET_BY_b"]  # nothing of the other's
    assert (a["cwd"], a["path0"], a["shared"]) == (str(tmp_path / "a"),) * 2 + ("a",)
    assert (b["cwd"], b["path0"], b["shared"]) == (str(tmp_path / "b"),) * 2 + ("b",)
    assert a["calls"] == b["calls"] == 1 and a["pid"] != b["pid"]
    assert a["fds"] == b["fds"]  # no descriptor of the template's or of another environment's
    assert set(a["fds"]) <= {"0", "1", "2", "3", a["fds"][-1]}, a["fds"]
    assert forks[0].invoke({})["calls"] == 2  # warm: the same process again
    assert a["boto3_loaded"] == ("boto3" in template.preloaded)


def test_output_goes_to_the_environments_log(template, tmp_path):
    fork = Forked(template, tmp_path / "f", 'def handler(e, c):\n    print("hello from", e)\n    return 1\n')
    assert fork.invoke("x") == 1
    assert "hello from x" in fork.output()


def test_an_ended_environment_reports_its_exit_and_a_killed_one_its_signal(template, tmp_path):
    exiting = Forked(template, tmp_path / "e", "import os\ndef handler(e, c):\n    os._exit(3)\n")
    assert exiting.invoke({}) is None  # its socket closed
    assert exiting.process.wait() == 3
    running = Forked(template, tmp_path / "r", "def handler(e, c):\n    return 1\n")
    assert running.process.poll() is None
    os.killpg(running.process.pid, signal.SIGKILL)  # as executor._kill does: its own group
    assert running.process.wait() == -signal.SIGKILL


def test_a_dead_templates_environments_end_and_the_next_start_gets_a_new_template(tmp_path):
    first = templates.template_for(Path(sys.executable), bootstrap.__file__, SPAWNER)
    fork = Forked(first, tmp_path / "f", "def handler(e, c):\n    return 1\n")
    os.killpg(first._process.pid, signal.SIGKILL)
    assert fork.process.wait() == -signal.SIGTERM  # its parent-death signal
    deadline = time.monotonic() + 10
    while pid_exists(fork.process.pid):  # really gone, not only reported so
        assert time.monotonic() < deadline, "the environment outlived its template"
        time.sleep(0.05)
    second = templates.template_for(Path(sys.executable), bootstrap.__file__, SPAWNER)
    assert second is not first and second.alive
    assert Forked(second, tmp_path / "g", "def handler(e, c):\n    return 2\n").invoke({}) == 2
    second.stop()


def test_a_function_that_brings_a_preloaded_package_is_not_forked(tmp_path):
    (tmp_path / "boto3").mkdir()
    assert templates.shadowed(["boto3"], [str(tmp_path)]) == str(tmp_path / "boto3")
    assert templates.shadowed(["boto3"], [str(tmp_path / "other")]) is None
    assert not templates.forkable({"PYTHONWARNINGS": "error"}) and templates.forkable({"PYTHONPATH": "/x"})
