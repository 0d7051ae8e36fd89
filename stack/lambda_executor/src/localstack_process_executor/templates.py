"""Warm templates: one process per runtime venv that has imported the runtime's SDK once (bootstrap.py --template),
from which each new execution environment is forked instead of started. A fresh interpreter spends most of a cold
start importing boto3; a fork starts with it loaded and shares its pages with the template (bench/README.md, "Cold
starts"). PROCESS_EXECUTOR_FORK=0 starts every environment the usual way.

A template is started at the first environment of its runtime and replaced when it has died; while one cannot be
started or asked, environments start the usual way and LocalStack's log says why.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import socket
import subprocess
import threading
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

LOG = logging.getLogger(__name__)
FORK_VARIABLE = "PROCESS_EXECUTOR_FORK"
START_TIMEOUT_S = 30.0  # importing boto3 on a loaded machine takes seconds
FORK_TIMEOUT_S = 10.0
# The PYTHON* variables a fork takes on after its interpreter has started (bootstrap.become_environment); any other
# (PYTHONWARNINGS, PYTHONHASHSEED...) is read at start-up only, so such a function starts the usual way.
APPLIED_AFTER_START = ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED")


class TemplateUnavailable(Exception):
    """No fork this time: the reason, for LocalStack's log."""


def enabled() -> bool:
    return os.environ.get(FORK_VARIABLE, "1").strip().lower() not in ("0", "false")


class ForkedProcess:
    """The environment's process as subprocess.Popen's few methods the executor uses: pid, poll(), wait(). Its
    parent is the template, which reports its exit code."""

    def __init__(self, pid: int, template: Template) -> None:
        self.pid = pid
        self._template = template

    def poll(self) -> int | None:
        return self._template.exit_code(self.pid, timeout=0, forget=False)

    def wait(self) -> int:
        code = self._template.exit_code(self.pid, timeout=FORK_TIMEOUT_S, forget=True)
        return -signal.SIGKILL if code is None else code


class Template:
    def __init__(self, interpreter: Path, bootstrap: str, spawner: Executor) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)  # one message per datagram
        try:
            self._process = spawner.submit(
                subprocess.Popen,
                [str(interpreter), "-u", "-s", bootstrap, "--template", str(theirs.fileno()), str(os.getpid())],
                env={"PATH": f"{interpreter.parent}:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
            ).result()
        finally:
            theirs.close()
        self._socket = ours
        self._started: queue.Queue[int] = queue.Queue()
        self._exits: dict[int, int] = {}
        self._exited = threading.Condition()
        self._dead = False
        self._fork_lock = threading.Lock()  # one request in flight: its "started" answer is the next one
        ours.settimeout(START_TIMEOUT_S)
        try:
            hello = json.loads(ours.recv(1 << 16) or b"null")
        except (OSError, ValueError) as error:
            self.stop()
            raise TemplateUnavailable(f"the template of {interpreter} did not start: {error}") from error
        if not hello or not hello.get("ready"):
            self.stop()
            raise TemplateUnavailable(f"the template of {interpreter} did not start (exit {self._process.poll()})")
        ours.settimeout(None)
        self.preloaded: list[str] = hello["preloaded"]
        threading.Thread(target=self._read, name=f"process-executor-template-{self._process.pid}", daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                data = self._socket.recv(1 << 16)
            except OSError:
                data = b""
            if not data:
                break
            message: dict[str, Any] = json.loads(data)
            if "started" in message:
                self._started.put(message["started"])
            elif "exited" in message:
                with self._exited:
                    self._exits[message["exited"]] = message["code"]
                    self._exited.notify_all()
        with self._exited:  # its environments die with it (their parent-death signal)
            self._dead = True
            self._exited.notify_all()
        self._started.put(0)

    @property
    def alive(self) -> bool:
        return not self._dead and self._process.poll() is None

    def fork(self, env: dict[str, str], cwd: str, channel: socket.socket, log_fd: int) -> ForkedProcess:
        with self._fork_lock:
            if not self.alive:
                raise TemplateUnavailable("the template has died")
            try:
                socket.send_fds(
                    self._socket, [json.dumps({"env": env, "cwd": cwd}).encode()], [channel.fileno(), log_fd]
                )
                pid = self._started.get(timeout=FORK_TIMEOUT_S)
            except (OSError, queue.Empty) as error:
                raise TemplateUnavailable(f"the template did not fork: {error!r}") from error
        if not pid:
            raise TemplateUnavailable("the template died while forking")
        return ForkedProcess(pid, self)

    def exit_code(self, pid: int, timeout: float, forget: bool) -> int | None:
        """The environment's exit code; None while it runs (or, after timeout, if its end was never reported).
        forget: the caller is done with it (wait(), not poll())."""
        with self._exited:
            self._exited.wait_for(lambda: pid in self._exits or self._dead, timeout=timeout)
            if pid in self._exits:
                return self._exits.pop(pid) if forget else self._exits[pid]
            return -signal.SIGTERM if self._dead else None  # a dead template's environments got SIGTERM

    def stop(self) -> None:
        self._dead = True
        try:
            os.killpg(self._process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._process.wait()
        self._socket.close()


_templates: dict[Path, Template] = {}
_templates_lock = threading.Lock()


def template_for(interpreter: Path, bootstrap: str, spawner: Executor) -> Template:
    """The live template of this runtime venv, started now if there is none (TemplateUnavailable if it cannot be)."""
    with _templates_lock:
        template = _templates.get(interpreter)
        if template is None or not template.alive:
            if template is not None:
                LOG.warning("the template of %s has died: starting a new one", interpreter)
            template = _templates[interpreter] = Template(interpreter, bootstrap, spawner)
        return template


def forkable(env: dict[str, str]) -> bool:
    return not any(name.startswith("PYTHON") and name not in APPLIED_AFTER_START for name in env)


def shadowed(preloaded: list[str], paths: list[str]) -> str | None:
    """A preloaded package that the function's own code or layers bring (they come first on its path, so a fork,
    which has the runtime's loaded, would run the wrong one); None when there is none."""
    for path in paths:
        for name in preloaded:
            if os.path.exists(os.path.join(path, name)) or os.path.exists(os.path.join(path, f"{name}.py")):
                return f"{os.path.join(path, name)}"
    return None
