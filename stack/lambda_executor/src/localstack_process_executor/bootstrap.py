"""The runtime loop inside one execution environment's process (stdlib only: it runs on the runtime venv).

Started as `python -u -s bootstrap.py <socket fd> <parent pid> [<debugpy dir> <port>]` with the function's
environment, or forked from a warm template of its runtime (`bootstrap.py --template <socket fd> <parent pid>`,
below, and templates.py), which hands it the same socket. It talks to executor.py over that socket, one JSON object
per line:
  out, once:       {"ready": true, "debugger": bool}  or  {"error": <AWS error body>} (handler not importable; then it
                   exits); "debugger": a debugpy client attached before the handler was imported
  in, per invoke:  {"id", "arn", "payload", "trace", "deadline_ms"}
  out, per invoke: {"ok": bool, "body": <the response or AWS error body, as a JSON string>}
stdout/stderr go to a log file the executor reads, so print() and logging need no protocol.
"""

from __future__ import annotations

import ctypes
import decimal
import gc
import importlib
import json
import os
import select
import signal
import socket
import sys
import time
import traceback
from typing import Any, Callable

Handler = Callable[[Any, Any], Any]


class InitError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.body = {"errorMessage": message, "errorType": error_type, "requestId": "", "stackTrace": []}


class LambdaContext:
    """The attributes AWS's Python runtime (awslambdaric) gives a handler's context, with the same types."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.aws_request_id: str = request["id"]
        self.invoked_function_arn: str = request["arn"]
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")  # a str on AWS too
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline_ms: float = request["deadline_ms"]

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self._deadline_ms - time.time() * 1000))


class _Encoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, decimal.Decimal):  # AWS's runtime serialises Decimal (e.g. from DynamoDB) as a number
            return float(o)
        return super().default(o)


def load_handler(spec: str) -> Handler:
    """Import `module.function` (module may be a path: `dir/module.function`), with AWS's init error types."""
    module_name, _, function_name = spec.rpartition(".")
    if not module_name:
        raise InitError("Runtime.MalformedHandlerName", f"Bad handler '{spec}': not enough values to unpack")
    module_name = module_name.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InitError("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}") from exc
    except SyntaxError as exc:
        raise InitError("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}") from exc
    handler = getattr(module, function_name, None)
    if not callable(handler):
        raise InitError("Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'")
    return handler


def error_body(exc: BaseException, request_id: str) -> dict[str, Any]:
    """The JSON AWS returns for an unhandled exception; frames of this file are the runtime's, so left out."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__]
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(frames),
    }


def log_error(body: dict[str, Any]) -> None:
    # As AWS's runtime does: one log line, "\r"-joined, so CloudWatch shows the traceback as one event.
    lines = [f"[ERROR] {body['errorType']}: {body['errorMessage']}", "Traceback (most recent call last):"]
    lines += [frame.rstrip("\n").replace("\n", "\r") for frame in body["stackTrace"]]
    print("\r".join(lines), file=sys.stderr)


def invoke(handler: Handler, request: dict[str, Any]) -> tuple[bool, str]:
    """Run one invoke; return (ok, body) where body is the JSON response or AWS's error JSON."""
    os.environ["_X_AMZN_TRACE_ID"] = request.get("trace") or ""
    try:
        result = handler(json.loads(request["payload"] or "{}"), LambdaContext(request))
    except Exception as exc:  # SystemExit/KeyboardInterrupt end the process: the executor reports the exit
        body = error_body(exc, request["id"])
        log_error(body)
        return False, json.dumps(body)
    try:
        return True, json.dumps(result, cls=_Encoder)
    except (TypeError, ValueError) as exc:
        body = {
            "errorMessage": f"Unable to marshal response: {exc}",
            "errorType": "Runtime.MarshalError",
            "requestId": request["id"],
            "stackTrace": [],
        }
        return False, json.dumps(body)


def die_with_parent(parent_pid: int) -> None:
    """End this environment when LocalStack dies, even by SIGKILL: the kernel sends us SIGTERM (Linux
    PR_SET_PDEATHSIG) and we kill our process group, so whatever the handler started goes too."""

    def end_group(*_: object) -> None:
        if os.getpgid(0) == os.getpid():  # we lead our own group (the executor starts a new session)
            os.killpg(0, signal.SIGKILL)
        os._exit(1)

    signal.signal(signal.SIGTERM, end_group)
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: stop() and the socket's end-of-file still end us
    if os.getppid() != parent_pid:  # LocalStack died before prctl took effect
        end_group()


def attach_debugger(debugpy_dir: str, port: int) -> bool:
    """Listen for a debugpy client on loopback and return once one has attached and sent its breakpoints, so the
    handler's module-level code stops at them too. False when the port is taken, e.g. by another environment of the
    same function: this one then runs without the debugger."""
    sys.path.append(debugpy_dir)  # last: the function's own packages still win
    import debugpy

    try:
        debugpy.listen(("127.0.0.1", port))
    except RuntimeError as exc:  # how debugpy reports a taken port
        sys.path.remove(debugpy_dir)
        print(
            f"[debugger] cannot listen on 127.0.0.1:{port} ({exc}): this environment runs without the debugger",
            file=sys.stderr,
        )
        return False
    print(f"[debugger] waiting for a debugpy client on 127.0.0.1:{port}", file=sys.stderr)
    debugpy.wait_for_client()
    return True


def serve(channel: socket.socket, handler_spec: str, debugger: tuple[str, int] | None) -> None:
    reader = channel.makefile("rb")

    def send(message: dict[str, Any]) -> None:
        sys.stdout.flush()  # the handler's output lands in the log before the executor reads it
        sys.stderr.flush()
        channel.sendall(json.dumps(message).encode() + b"\n")

    debugged = attach_debugger(*debugger) if debugger else False
    try:
        handler = load_handler(handler_spec)
    except InitError as exc:
        send({"error": exc.body})
        return
    except Exception as exc:  # module code raised at import: AWS reports that exception itself
        send({"error": error_body(exc, "")})
        return
    send({"ready": True, "debugger": debugged})
    for line in reader:  # ends when the executor closes the socket (stop, or LocalStack gone)
        ok, body = invoke(handler, json.loads(line))
        send({"ok": ok, "body": body})


# What every environment of a runtime imports before its handler: the runtime's SDK (a fresh interpreter spends most
# of a cold start importing it). A template imports them once; its forks start with them loaded.
PRELOAD = ("boto3", "boto3.session", "botocore.session", "botocore.client", "botocore.config", "botocore.exceptions")


def template(control: socket.socket, parent_pid: int) -> None:
    """A warm template of this runtime: one single-threaded process that has imported PRELOAD and opened nothing
    else, and forks an execution environment for each request of the executor.

    In (a datagram with two descriptors: the environment's socket and its log file): {"env", "cwd"}.
    Out: {"ready": true, "preloaded": [top-level package, ...]} once; {"started": pid} per request; {"exited": pid,
    "code": exit code as Popen gives it} when an environment ends (the template is its parent and reaps it)."""
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # a runtime venv without boto3 still gets environments, just slower ones
    preloaded = sorted({name.split(".")[0] for name in PRELOAD if name in sys.modules})
    gc.collect()
    gc.freeze()  # the forks share these pages: the collector no longer writes into them
    wakeup_read, wakeup_write = os.pipe()
    os.set_blocking(wakeup_write, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wakeup_write)

    def tell(message: dict[str, Any]) -> None:
        control.sendall(json.dumps(message).encode())

    tell({"ready": True, "preloaded": preloaded})
    while True:
        ready = select.select([control, wakeup_read], [], [])[0]
        if wakeup_read in ready:
            os.read(wakeup_read, 4096)
            while True:
                try:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
                tell({"exited": pid, "code": os.waitstatus_to_exitcode(status)})
        if control in ready:
            data, fds, _, _ = socket.recv_fds(control, 1 << 20, 2)
            if not data:
                return  # the executor has gone
            pid = os.fork()
            if pid == 0:
                try:
                    for fd in (control.fileno(), wakeup_read, wakeup_write):
                        os.close(fd)
                    become_environment(json.loads(data), *fds)
                except BaseException:
                    traceback.print_exc()
                os._exit(1)  # never back into the template's loop
            try:  # here and in the child, whichever runs first: the executor can kill its group at once
                os.setpgid(pid, pid)
            except OSError:
                pass  # it has ended already
            for fd in fds:
                os.close(fd)
            tell({"started": pid})


def become_environment(request: dict[str, Any], channel_fd: int, log_fd: int) -> None:
    """In a fresh fork of the template: take on the function's environment, as a new interpreter started with it
    would have, then serve it."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.setpgid(0, 0)  # its own process group, as a started environment's: stop() kills what the handler started too
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    env = request["env"]
    os.environ.clear()
    os.environ.update(env)
    time.tzset()
    sys.dont_write_bytecode = bool(env.get("PYTHONDONTWRITEBYTECODE"))
    os.chdir(request["cwd"])
    sys.path[:0] = [entry for entry in env.get("PYTHONPATH", "").split(os.pathsep) if entry]
    importlib.invalidate_caches()
    die_with_parent(os.getppid())  # the template; it dies with LocalStack
    serve(socket.socket(fileno=channel_fd), env["_HANDLER"], None)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def main() -> None:
    # Python put this file's folder first on sys.path: drop it, so none of the executor's modules leak into
    # the function's import path (which PYTHONPATH sets to the code, then the layers, then the runtime venv).
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        del sys.path[0]
    if sys.argv[1] == "--template":
        fd, parent_pid = int(sys.argv[2]), int(sys.argv[3])
        die_with_parent(parent_pid)
        sys.argv = sys.argv[:1]
        template(socket.socket(fileno=fd), parent_pid)
        return
    fd, parent_pid = int(sys.argv[1]), int(sys.argv[2])
    debugger = (sys.argv[3], int(sys.argv[4])) if len(sys.argv) > 4 else None
    die_with_parent(parent_pid)
    sys.argv = sys.argv[:1]
    serve(socket.socket(fileno=fd), os.environ["_HANDLER"], debugger)


if __name__ == "__main__":
    main()
