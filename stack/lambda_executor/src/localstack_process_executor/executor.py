"""The executor LocalStack drives: one child process (bootstrap.py on the function's runtime venv) per
execution environment, reused across invokes. LocalStack asks for another environment when all are busy, so
concurrent invokes run in parallel processes. Parent and child talk over a Unix socket pair (no port, no HTTP:
nothing to bind, and a dead child shows up as end-of-file); the child's stdout/stderr go to a log file.
"""

from __future__ import annotations

import fcntl
import json
import logging
import math
import os
import select
import signal
import socket
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

import psutil
from localstack import config
from localstack.aws.connect import connect_to
from localstack.services.lambda_.invocation.executor_endpoint import NAMESPACE, StatusErrorException
from localstack.services.lambda_.invocation.lambda_models import FunctionVersion, InvocationResult, LayerVersion
from localstack.services.lambda_.invocation.runtime_executor import RuntimeExecutor

from localstack_process_executor import debugger, emf, runtimes, templates
from localstack_process_executor.code_state import code_state

LOG = logging.getLogger(__name__)
BOOTSTRAP = str(Path(__file__).with_name("bootstrap.py"))
LOOPBACK = "127.0.0.1"

# PR_SET_PDEATHSIG fires when the *thread* that forked the child ends, and LocalStack starts environments from
# short-lived request threads. So every child is forked by this one long-lived thread.
_SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="process-executor-spawn")
# How often an invoke past its timeout checks whether the debugger client is still attached.
DEBUGGER_CHECK_S = 1.0


def _error(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


class ProcessRuntimeExecutor(RuntimeExecutor):
    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        self._env: dict[str, str] = {}
        self._interpreter: Path | None = None  # the runtime venv's python, chosen at start()
        self._process: subprocess.Popen | templates.ForkedProcess | None = None
        self._channel: socket.socket | None = None
        self._reader: BinaryIO | None = None
        self._log: BinaryIO | None = None  # closed with this object, never under a running invoke
        self._debugger_port: int | None = None  # set while this environment's process holds the debugger
        self._code_started: frozenset | None = None  # hot reload: the code's state when the process started
        self._layers: tuple[str, ...] = ()  # the layers' folders on the function's path, chosen at start()

    # --- lifecycle -------------------------------------------------------------------------------------------

    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        config_ = function_version.config
        if config_.code:
            config_.code.prepare_for_execution()  # unzips to get_unzipped_code_location()
        for layer in config_.layers:
            layer.code.prepare_for_execution()
        if not config_.runtime:
            return  # an image function: start() reports it
        try:
            choice = runtimes.choose(config_.runtime)
        except runtimes.RuntimeUnavailable as problem:
            LOG.error("Lambda %s cannot run: %s", function_version.qualified_arn, problem)
            return
        if choice.warning:  # once per function version: LocalStack prepares each version once
            LOG.warning("Lambda %s %s", function_version.qualified_arn, choice.warning)

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        pass  # LocalStack owns the unzipped code; nothing of ours outlives the environments

    def start(self, env_vars: dict[str, Any]) -> None:
        config_ = self.function_version.config
        if not config_.runtime or not config_.code:
            raise StatusErrorException(
                "no runtime",
                _error(
                    "Runtime.InvalidEntrypoint", "The process executor runs zip functions only (use the docker stack)."
                ),
            )
        code = str(config_.code.get_unzipped_code_location())
        try:  # chosen per environment: a runtime installed while the stack runs serves the next cold start
            choice = runtimes.choose(config_.runtime)
        except runtimes.RuntimeUnavailable as problem:
            raise StatusErrorException(str(problem), _error("Runtime.InvalidRuntime", str(problem)))
        actual, self._interpreter = choice.runtime, runtimes.interpreter(choice.runtime)
        # /opt/python semantics: each layer's python/ (and its site-packages); later layers win, as when AWS
        # unpacks them over each other; the code comes first, the runtime venv's boto3 last.
        layer_dirs = [self._layer_code(layer) / "python" for layer in reversed(config_.layers)]
        version = actual.removeprefix("python")
        self._layers = tuple(str(p) for d in layer_dirs for p in (d / f"lib/python{version}/site-packages", d))
        # A fresh environment, not LocalStack's: nothing of its venv (PYTHONPATH, VIRTUAL_ENV...) leaks in.
        # AWS_ENDPOINT_URL comes with env_vars: LocalStack builds it from get_endpoint_from_executor() (loopback).
        self._env = {
            "PATH": f"{self._interpreter.parent}:/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            **{k: str(v) for k, v in env_vars.items()},
            "LAMBDA_TASK_ROOT": code,
            "PYTHONPATH": os.pathsep.join([code, *self._layers]),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{actual}",
        }
        if config_.code.is_hot_reloading():
            # No bytecode beside code that changes: CPython trusts a .pyc whose source has the same size and the same
            # modification second, so an edit of the same size saved within a second of a compile would run the old
            # code. (Docker mode's read-only /var/task gets none either.)
            self._env["PYTHONDONTWRITEBYTECODE"] = "1"
        # The log file is opened O_APPEND so it can be emptied after each invoke while the child writes to it.
        self._log = tempfile.TemporaryFile(prefix=f"lambda-{self.id}-", buffering=0)
        fcntl.fcntl(self._log.fileno(), fcntl.F_SETFL, os.O_APPEND)
        if choice.fallback:  # in the function's own log too, where its user looks: once per environment
            self._log.write(f"[WARNING] This function {choice.warning}\n".encode())
        self._spawn()

    def _layer_code(self, layer: LayerVersion) -> Path:
        unzipped = layer.code.get_unzipped_code_location()
        if debugger.wanted(self.function_version.id.function_name):  # so breakpoints in the layer's sources bind
            return debugger.layer_link(layer.layer_arn.rsplit(":", 1)[1], unzipped)
        return unzipped

    def _spawn(self) -> None:
        # Taken before the child reads the code, so a change made while it starts shows at the next invoke.
        self._code_started = self._code_now()
        parent, child = socket.socketpair()
        debug_arguments = self._debugger_arguments()
        # Frozen standard-library modules would make debugpy miss breakpoints there (and warn in every function log).
        debug_options = ["-X", "frozen_modules=off"] if debug_arguments else []
        command = [
            str(self._interpreter),
            "-u",
            "-s",
            *debug_options,
            BOOTSTRAP,
            str(child.fileno()),
            str(os.getpid()),
            *debug_arguments,
        ]
        try:
            self._process = (None if debug_arguments else self._forked(child)) or _SPAWNER.submit(
                subprocess.Popen,
                command,
                env=self._env,
                cwd=self._env["LAMBDA_TASK_ROOT"],
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=self._log,
                pass_fds=(child.fileno(),),
                start_new_session=True,  # its own process group: stop() kills whatever the handler started too
            ).result()
        finally:
            child.close()
        self._channel, self._reader = parent, parent.makefile("rb")
        parent.settimeout(config.LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT)
        hello = self._receive()
        if not hello or "error" in hello:  # init failed: as on AWS, the invoke returns it and the next one retries
            code = self._kill()
            body = json.dumps(hello["error"]).encode() if hello else self._exit_error("", code or 0)
            LOG.warning(
                "Lambda %s failed to start: %s\n%s", self.function_version.qualified_arn, body, self._take_logs()
            )
            raise StatusErrorException("Environment startup failed", body)
        self._debugger_port = debugger.port() if hello.get("debugger") else None
        self._learn(hello)
        if debug_arguments and not self._debugger_port:
            LOG.warning(
                "Lambda %s: 127.0.0.1:%d is taken (another environment of it holds the debugger): this "
                "environment runs without the debugger",
                self.function_version.qualified_arn,
                debugger.port(),
            )

    def _forked(self, channel: socket.socket) -> templates.ForkedProcess | None:
        """The environment forked from a warm template (templates.py): its layers' one when they have one that fits,
        else its runtime's. None when it must start the usual way: forks switched off, a start-up-only PYTHON*
        variable, or a package of the template's that the function brings its own of. A template that cannot serve
        is logged, and the environment starts the usual way."""
        if not templates.enabled():
            return None
        if not templates.forkable(self._env):
            return None
        code = self._env["LAMBDA_TASK_ROOT"]
        try:
            runtime = templates.template_for(self._interpreter, BOOTSTRAP, _SPAWNER)
            if brought := templates.shadowed(runtime.preloaded, [code, *self._layers]):
                LOG.info(
                    "Lambda %s brings its own %s: started without the template",
                    self.function_version.qualified_arn,
                    brought,
                )
                return None
            template = templates.layer_template_for(runtime, self._layers, self._env, code) or runtime
            teach = [] if templates.taught(self._interpreter, self._layers) else list(self._layers)
            return template.fork(self._env, code, channel, self._log.fileno(), teach)
        except templates.TemplateUnavailable as problem:
            LOG.warning("Lambda %s starts without a template: %s", self.function_version.qualified_arn, problem)
            return None

    def _debugger_arguments(self) -> list[str]:
        """bootstrap.py's debugpy folder and port when this function is the one to debug (DEBUG_FUNCTION)."""
        if not debugger.wanted(self.function_version.id.function_name):
            return []
        folder = debugger.debugpy_dir(self._interpreter)
        if not folder.is_dir():
            LOG.error(
                "Lambda %s cannot wait for a debugger: no debugpy in %s (run `make setup`)",
                self.function_version.qualified_arn,
                folder,
            )
            return []
        LOG.warning(
            "Lambda %s waits for a debugpy client on 127.0.0.1:%d before it starts (DEBUG_FUNCTION)",
            self.function_version.qualified_arn,
            debugger.port(),
        )
        return [str(folder), str(debugger.port())]

    def stop(self) -> None:
        self._kill()

    def _code_now(self) -> frozenset | None:
        """The state of hot-reloading code (code_state.py); None for a zip, which never changes."""
        code = self.function_version.config.code
        return code_state(code.get_unzipped_code_location()) if code.is_hot_reloading() else None

    def _code_changed(self) -> bool:
        return self._code_started is not None and self._code_now() != self._code_started

    def _kill(self) -> int | None:
        """Kill the process group; return the child's exit code (negative: the signal), None if none ran.
        May race with invoke(): killing first makes its read end at end-of-file before the socket is closed."""
        process, channel, reader = self._process, self._channel, self._reader
        self._process = self._channel = self._reader = None
        code = None
        if process:
            try:  # the group id is the child's pid (new session); not reused until wait() reaps the child
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            code = process.wait()
        if channel:
            reader.close()
            channel.close()
        return code

    # --- invoke ---------------------------------------------------------------------------------------------

    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        if not self._process or self._process.poll() is not None:
            self._spawn()  # the previous process timed out or crashed: a fresh one, as AWS resets the sandbox
        elif self._code_changed():
            self._kill()
            self._spawn()  # hot reload: the code changed since this process started
        request_id, timeout = payload["invoke-id"], self.function_version.config.timeout
        started = time.monotonic()
        try:
            self._send(
                {
                    "id": request_id,
                    "arn": payload["invoked-function-arn"],
                    "payload": payload["payload"],
                    "trace": payload.get("trace-id"),
                    "deadline_ms": time.time() * 1000 + timeout * 1000,
                }
            )
            self._channel.settimeout(timeout)
            if self._debugger_port:
                self._await_reply_while_debugged(timeout)
            reply = self._receive()
        except TimeoutError:
            self._kill()
            message = f"Task timed out after {timeout:.2f} seconds"
            stamp = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            logs = self._take_logs() + f"{stamp} {request_id} {message}\n"
            body = _error("Sandbox.Timedout", f"RequestId: {request_id} Error: {message}")
            return self._result(request_id, body, True, logs, started)
        except (OSError, ValueError, AttributeError):  # stop() killed it and closed the socket meanwhile
            reply = None
        if reply is None:  # the process died (os._exit, segfault, OOM kill, stop()...)
            code = self._kill()
            body = self._exit_error(request_id, -signal.SIGKILL if code is None else code)
            return self._result(request_id, body, True, self._take_logs(), started)
        self._learn(reply)
        return self._result(request_id, reply["body"].encode(), not reply["ok"], self._take_logs(), started)

    def _learn(self, message: dict[str, Any]) -> None:
        """What a forked environment reports for its templates: its layers' modules (once), the models it loaded."""
        if "layer_modules" in message:
            templates.learn(self._interpreter, self._layers, message["layer_modules"], self._env)
        if "models" in message:
            templates.learn_models(self._interpreter, message["models"])

    def _await_reply_while_debugged(self, timeout: float) -> None:
        """Return once the reply can be read. Past the function's timeout, keep waiting while a debugger client is
        attached (its user may sit on a breakpoint); TimeoutError once none is."""
        waited = timeout
        while not select.select([self._channel], [], [], waited)[0]:
            if not self._debugger_client_attached():
                raise TimeoutError
            waited = DEBUGGER_CHECK_S

    def _debugger_client_attached(self) -> bool:
        """Whether a client is connected to the debugpy adapter of this environment: the process that listens on the
        debugger port. debugpy starts it as a daemon (it ends with the debuggee), so it is found by its command line,
        `.../debugpy/adapter --for-server ... --port <port>`. psutil comes with LocalStack and, unlike a system-wide
        socket listing, needs no root on macOS."""
        port = self._debugger_port
        for process in psutil.process_iter(["cmdline"]):
            command = " ".join(process.info["cmdline"] or [])
            if "debugpy" not in command or "--for-server" not in command or f"--port {port} " not in command + " ":
                continue
            try:
                return any(
                    connection.status == psutil.CONN_ESTABLISHED and connection.laddr.port == port
                    for connection in process.net_connections(kind="tcp")
                )
            except psutil.Error:  # gone meanwhile
                return False
        return False

    def _result(self, request_id: str, body: bytes, is_error: bool, logs: str, started: float) -> InvocationResult:
        # The START/END/REPORT lines AWS writes around each invoke's output in CloudWatch Logs.
        ms = (time.monotonic() - started) * 1000
        report = (
            f"REPORT RequestId: {request_id}\tDuration: {ms:.2f} ms\tBilled Duration: {math.ceil(ms)} ms\t"
            f"Memory Size: {self.function_version.config.memory_size} MB\n"
        )
        start = f"START RequestId: {request_id} Version: {self.function_version.id.qualifier}\n"
        self._publish_metrics(logs)
        return InvocationResult(request_id, body, is_error, f"{start}{logs}END RequestId: {request_id}\n{report}")

    def _publish_metrics(self, logs: str) -> None:
        """What CloudWatch Logs does on AWS and LocalStack does not: the output's EMF lines become metrics."""
        if '"_aws"' not in logs:
            return
        identity = self.function_version.id
        try:
            emf.publish(connect_to(region_name=identity.region, aws_access_key_id=identity.account).cloudwatch, logs)
        except Exception:  # a metric lost must not fail the invoke, as on AWS
            LOG.warning("could not publish the EMF metrics of %s", identity.function_name, exc_info=True)

    @staticmethod
    def _exit_error(request_id: str, code: int) -> bytes:
        # Worded as AWS words it (its runtime API is written in Go): "exit status 3", "signal: killed".
        how = f"signal: {signal.strsignal(-code).lower()}" if code < 0 else f"exit status {code}"
        return _error("Runtime.ExitError", f"RequestId: {request_id} Error: Runtime exited with error: {how}")

    def _send(self, message: dict[str, Any]) -> None:
        self._channel.sendall(json.dumps(message).encode() + b"\n")

    def _receive(self) -> dict[str, Any] | None:
        """The child's next message; None when it has gone (end of file). TimeoutError after the timeout."""
        line = self._reader.readline()  # after a timeout the reader is unusable, but the child is killed anyway
        return json.loads(line) if line.endswith(b"\n") else None

    def _take_logs(self) -> str:
        """What the child wrote since the last call, then empty the file (a warm environment can live long)."""
        data = self.get_logs()
        if data:
            os.ftruncate(self._log.fileno(), 0)
        return data

    # --- addresses LocalStack asks for ------------------------------------------------------------------------

    def get_logs(self) -> str:
        if not self._log:
            return ""
        fd = self._log.fileno()
        return os.pread(fd, os.fstat(fd).st_size, 0).decode(errors="replace")

    def get_address(self) -> str:
        return LOOPBACK

    def get_endpoint_from_executor(self) -> str:
        return LOOPBACK  # so the AWS_ENDPOINT_URL LocalStack gives the function is the loopback gateway

    def get_runtime_endpoint(self) -> str:
        # Only reaches the function as LOCALSTACK_RUNTIME_ENDPOINT; our child answers over its socket instead.
        return f"http://{LOOPBACK}:{config.GATEWAY_LISTEN[0].port}{NAMESPACE}/{self.id}"
