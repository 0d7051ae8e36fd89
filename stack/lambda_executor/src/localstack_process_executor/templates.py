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
import time
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOG = logging.getLogger(__name__)
FORK_VARIABLE = "PROCESS_EXECUTOR_FORK"
START_TIMEOUT_S = 30.0  # importing boto3 on a loaded machine takes seconds
FORK_TIMEOUT_S = 10.0
LAYER_TEMPLATE_IDLE_S = 600.0  # a layer template with no environment running for this long is stopped
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
    """A template process and the executor's end of its control socket. The runtime's template is started
    (Template.start); a layer template is forked from it (branch)."""

    def __init__(
        self, interpreter: Path, process: subprocess.Popen | ForkedProcess, control: socket.socket, what: str
    ) -> None:
        self.interpreter = interpreter  # the runtime venv's python
        self._process = process
        self._socket = control
        self._started: queue.Queue[int] = queue.Queue()
        self._exits: dict[int, int] = {}
        self._exited = threading.Condition()
        self._dead = False
        self._fork_lock = threading.Lock()  # one request in flight: its "started" answer is the next one
        self._forks: set[int] = set()  # its forks that have not ended
        self.last_fork = time.monotonic()
        control.settimeout(START_TIMEOUT_S)
        try:
            hello = json.loads(control.recv(1 << 16) or b"null")
        except (OSError, ValueError) as error:
            self.stop()
            raise TemplateUnavailable(f"{what} did not start: {error}") from error
        if hello and "refused" in hello:
            self.stop()
            raise Refused(f"{what} refused: {hello['refused']}", hello.get("module"))
        if not hello or not hello.get("ready"):
            self.stop()
            raise TemplateUnavailable(f"{what} did not start (exit {self._process.poll()})")
        control.settimeout(None)
        self.preloaded: list[str] = hello["preloaded"]
        threading.Thread(target=self._read, name=f"process-executor-template-{self._process.pid}", daemon=True).start()

    @classmethod
    def start(cls, interpreter: Path, bootstrap: str, spawner: Executor) -> Template:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)  # one message per datagram
        try:
            process = spawner.submit(
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
        return cls(interpreter, process, ours, f"the template of {interpreter}")

    def branch(self, lesson: Lesson) -> Template:
        """A layer template forked from this one, preloading what the lesson says (Refused if it cannot)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            pid = self._request({"template": lesson.request()}, [theirs.fileno()])
        finally:
            theirs.close()
        what = f"the template of layers {', '.join(lesson.layers)}"
        return Template(self.interpreter, ForkedProcess(pid, self), ours, what)

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
                    self._forks.discard(message["exited"])
                    self._exited.notify_all()
        with self._exited:  # its environments die with it (their parent-death signal)
            self._dead = True
            self._exited.notify_all()
        self._started.put(0)

    @property
    def alive(self) -> bool:
        return not self._dead and self._process.poll() is None

    def fork(
        self, env: dict[str, str], cwd: str, channel: socket.socket, log_fd: int, layers: list[str]
    ) -> ForkedProcess:
        """An environment forked from this template. Before forking, the template loads the service models forks of
        its runtime have reported (learn_models). The fork reports the models it loads and, given its layers, what it
        imported from them (learn)."""
        request = {"env": env, "cwd": cwd, "layers": layers, "models": _models.get(self.interpreter, [])}
        return ForkedProcess(self._request(request, [channel.fileno(), log_fd]), self)

    def _request(self, request: dict[str, Any], fds: list[int]) -> int:
        with self._fork_lock:
            if not self.alive:
                raise TemplateUnavailable("the template has died")
            try:
                socket.send_fds(self._socket, [json.dumps(request).encode()], fds)
                pid = self._started.get(timeout=FORK_TIMEOUT_S)
            except (OSError, queue.Empty) as error:
                raise TemplateUnavailable(f"the template did not fork: {error!r}") from error
        if not pid:
            raise TemplateUnavailable("the template died while forking")
        with self._exited:
            self._forks.add(pid)
            self.last_fork = time.monotonic()
        return pid

    @property
    def idle_since(self) -> float | None:
        """When it last forked, if none of its forks is running now (else None)."""
        with self._exited:
            return None if self._forks else self.last_fork

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


class Refused(TemplateUnavailable):
    """A layer template that would not preload its lesson; module: the one to leave out next time (None: none)."""

    def __init__(self, message: str, module: str | None) -> None:
        super().__init__(message)
        self.module = module


# Variables a layer module's import may read and still be preloaded: every function of a runtime has the same value
# (the executor's and LocalStack's own). A module that read any other variable the function sets stays its own.
SHARED_VARIABLES = frozenset(
    {"AWS_EXECUTION_ENV", "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_REGION", "AWS_DEFAULT_REGION", "LANG", "PATH", "TZ"}
)


@dataclass
class Lesson:
    """What the first forked environment of a function on these layers imported from them: the modules a layer
    template preloads, and the values (None: unset) of the variables their imports read, which a function must have
    too to fork from it."""

    layers: tuple[str, ...]
    modules: list[str]
    env: dict[str, str | None]

    @classmethod
    def taught(cls, layers: tuple[str, ...], imported: list[list[Any]], env: dict[str, str]) -> Lesson:
        """From a fork's layer_modules ([[module, variables read, modules imported], ...], bootstrap.py): those that
        read neither the whole environment nor a setting of this function's, nor import one that does."""
        reads = {module: names for module, names, _ in imported}
        imports = {module: [other for other in others if other in reads] for module, _, others in imported}
        own = {
            module
            for module, names in reads.items()
            if "*" in names or any(name in env and name not in SHARED_VARIABLES for name in names)
        }
        while spread := {module for module in imports if module not in own and own.intersection(imports[module])}:
            own |= spread
        modules = [module for module in reads if module not in own]
        return cls(layers, modules, {name: env.get(name) for module in modules for name in reads[module]})

    def fits(self, env: dict[str, str]) -> bool:
        return all(env.get(name) == value for name, value in self.env.items())

    def without(self, module: str) -> Lesson:
        return Lesson(self.layers, [name for name in self.modules if name != module], self.env)

    def request(self) -> dict[str, Any]:
        return {"paths": list(self.layers), "modules": self.modules, "env": self.env}


_templates: dict[Any, Template] = {}
_templates_lock = threading.Lock()
_lessons: dict[tuple[Path, tuple[str, ...]], Lesson] = {}
_models: dict[Path, list[list[Any]]] = {}  # per runtime: the service-model loads its forks reported, in order


def template_for(interpreter: Path, bootstrap: str, spawner: Executor) -> Template:
    """The live template of this runtime venv, started now if there is none (TemplateUnavailable if it cannot be)."""
    with _templates_lock:
        template = _templates.get(interpreter)
        if template is None or not template.alive:
            if template is not None:
                LOG.warning("the template of %s has died: starting a new one", interpreter)
            template = _templates[interpreter] = Template.start(interpreter, bootstrap, spawner)
        return template


def layer_template_for(runtime: Template, layers: tuple[str, ...], env: dict[str, str], code: str) -> Template | None:
    """The live layer template for a function of these layers and settings, forked from its runtime's template now
    if there is none; None when the function forks from the runtime's: nothing learned yet for these layers, other
    values of the variables the lesson names, code that brings a package of the layers' own, or a refusal (logged;
    the module it names is left out of the next try)."""
    if not layers:
        return None
    with _templates_lock:
        retire_idle_layer_templates()
        lesson = _lessons.get((runtime.interpreter, layers))
        if lesson is None or not lesson.modules or not lesson.fits(env):
            return None
        key = (runtime.interpreter, layers, json.dumps(lesson.env, sort_keys=True))
        template = _templates.get(key)
        if template is None or not template.alive:
            try:
                template = _templates[key] = runtime.branch(lesson)
            except TemplateUnavailable as problem:
                LOG.info("%s: environments of these layers fork from the runtime's template", problem)
                if isinstance(problem, Refused):
                    _lessons[(runtime.interpreter, layers)] = (
                        lesson.without(problem.module) if problem.module else Lesson(layers, [], {})
                    )
                return None
    return None if shadowed(template.preloaded, [code]) else template


def retire_idle_layer_templates() -> None:
    """Stop the layer templates none of whose forks has run for LAYER_TEMPLATE_IDLE_S: each deploy of a changed
    layer is a new layer version, in a new folder, with a template of its own; the old one's would otherwise stay for
    LocalStack's lifetime. One still in use is forked again from its runtime's at its next cold start. Under the
    lock."""
    for key, template in list(_templates.items()):
        idle_since = template.idle_since if isinstance(key, tuple) else None  # a runtime's template is keyed by path
        if idle_since is not None and time.monotonic() - idle_since > LAYER_TEMPLATE_IDLE_S:
            template.stop()
            del _templates[key]


def taught(interpreter: Path, layers: tuple[str, ...]) -> bool:
    """Whether a fork has taught what these layers' template preloads (a fork that need not teach skips the walk
    over its modules, which would copy pages it shares)."""
    return (interpreter, layers) in _lessons


def learn(interpreter: Path, layers: tuple[str, ...], imported: list[list[Any]], env: dict[str, str]) -> None:
    """A fork's report of what its handler imported from its layers; the first one for these layers teaches."""
    with _templates_lock:
        _lessons.setdefault((interpreter, layers), Lesson.taught(layers, imported, env))


def learn_models(interpreter: Path, calls: list[list[Any]]) -> None:
    """A fork's report of the service models it loaded: the runtime's templates load them before their next forks."""
    with _templates_lock:
        known = _models.setdefault(interpreter, [])
        known.extend(call for call in calls if call not in known)


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
