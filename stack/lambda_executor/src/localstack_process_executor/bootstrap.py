"""The runtime loop inside one execution environment's process (stdlib only: it runs on the runtime venv).

Started as `python -u -s bootstrap.py <socket fd> <parent pid> [<debugpy dir> <port>]` with the function's
environment, or forked from a warm template of its runtime (`bootstrap.py --template <socket fd> <parent pid>`,
below, and templates.py), which hands it the same socket. It talks to executor.py over that socket, one JSON object
per line:
  out, once:       {"ready": true, "debugger": bool}  or  {"error": <AWS error body>} (handler not importable; then it
                   exits); "debugger": a debugpy client attached before the handler was imported
  in, per invoke:  {"id", "arn", "payload", "trace", "deadline_ms"}
  out, per invoke: {"ok": bool, "body": <the response or AWS error body, as a JSON string>}
A fork also reports what its template can preload for the next ones ("what a fork teaches", below): "models" in any
out message (the service models it loaded since its last message), "layer_modules" in "ready" when asked to.
stdout/stderr go to a log file the executor reads, so print() and logging need no protocol.
"""

from __future__ import annotations

import builtins
import ctypes
import decimal
import gc
import importlib
import importlib.util
import json
import os
import select
import signal
import socket
import sys
import tempfile
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


def serve(
    channel: socket.socket, handler_spec: str, debugger: tuple[str, int] | None, layers: list[str] | None = None
) -> None:
    """layers: set in a fork of a template, which then learns from it (below): the layer folders on its path."""
    reader = channel.makefile("rb")
    models = loader_calls()  # from here: a client the handler's module creates at import counts too

    def send(message: dict[str, Any]) -> None:
        sys.stdout.flush()  # the handler's output lands in the log before the executor reads it
        sys.stderr.flush()
        channel.sendall(json.dumps(message).encode() + b"\n")

    debugged = attach_debugger(*debugger) if debugger else False
    imported_before = set(sys.modules) if layers else set()
    try:
        with watched_environment(active=bool(layers)) as reads:  # only to teach: it copies pages a fork shares
            handler = load_handler(handler_spec)
    except InitError as exc:
        send({"error": exc.body})
        return
    except Exception as exc:  # module code raised at import: AWS reports that exception itself
        send({"error": error_body(exc, "")})
        return
    hello: dict[str, Any] = {"ready": True, "debugger": debugged}
    if layers:
        hello["layer_modules"] = layer_modules(imported_before, reads, layers)
    send({**hello, **models.report()})
    for line in reader:  # ends when the executor closes the socket (stop, or LocalStack gone)
        ok, body = invoke(handler, json.loads(line))
        send({"ok": ok, "body": body, **models.report()})


# --- what a fork teaches its template --------------------------------------------------------------------------------
# A template can preload, for the next environments, what its forks loaded themselves: botocore's service models
# (the JSON a client is built from: most of a client's memory) and the modules a function imported from its layers.
# Those come with a condition: a module whose import read the environment is preloaded only with the same values.

_reads: dict[str, set[str]] | None = None  # module -> variables its import read ("*": all of them), while watched
_imports: dict[str, set[str]] = {}  # module -> the modules it imported (already loaded or not), while watched
_plain_import = builtins.__import__


def _running_modules(frame: Any) -> list[str]:
    """The modules whose body is running (being imported) at this frame: the innermost one and its importers."""
    names = []
    while frame is not None:
        if frame.f_code.co_name == "<module>":
            names.append(frame.f_globals.get("__name__", "?"))
        frame = frame.f_back
    return names


def _note_read(name: str) -> None:
    if _reads is not None:
        for module in _running_modules(sys._getframe(2)):
            _reads.setdefault(module, set()).add(name)


def _noted_import(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0) -> Any:
    module = _plain_import(name, globals, locals, fromlist, level)
    if _reads is not None:
        package = (globals or {}).get("__package__") or ""
        absolute = importlib.util.resolve_name("." * level + name, package) if level else name
        parts = absolute.split(".")
        asked = {".".join(parts[:end]) for end in range(1, len(parts) + 1)}  # a package's parents run first
        asked.update(f"{absolute}.{item}" for item in fromlist or () if item != "*")  # may name submodules
        for importer in _running_modules(sys._getframe(1)):  # not an import a function makes later, once called
            _imports.setdefault(importer, set()).update(asked)
    return module


class _WatchedEnviron(os._Environ):  # type: ignore[name-defined,misc]
    """os.environ's class while modules are imported: the same object, reads noted (get, in, os.getenv go here)."""

    def __getitem__(self, key: str) -> str:
        _note_read(key)
        return super().__getitem__(key)

    def __iter__(self):  # type: ignore[no-untyped-def]
        _note_read("*")
        return super().__iter__()

    def copy(self) -> dict[str, str]:
        _note_read("*")
        return super().copy()


class watched_environment:
    """Within: which variables each module's import reads (the dict it yields: module -> names), and which modules
    each module imports (_imports). Inactive: nothing is watched, and the dict stays empty."""

    def __init__(self, active: bool = True) -> None:
        self.active = active

    def __enter__(self) -> dict[str, set[str]]:
        global _reads
        if not self.active:
            return {}
        _reads = {}
        _imports.clear()
        os.environ.__class__ = _WatchedEnviron
        builtins.__import__ = _noted_import
        return _reads

    def __exit__(self, *_: object) -> None:
        global _reads
        if not self.active:
            return
        builtins.__import__ = _plain_import
        os.environ.__class__ = _WatchedEnviron.__mro__[1]
        _reads = None


def layer_modules(before: set[str], reads: dict[str, set[str]], layers: list[str]) -> list[list[Any]]:
    """The modules the handler's import brought from the layers, in import order, each with the variables its
    import read and the modules it imported: [[module, [names], [modules]], ...]. A module that reads nothing itself
    may import one that does, already loaded here by another: the template must leave both out."""
    found = []
    for name in loaded_from(layers):
        if name not in before:
            imported = sorted(other for other in _imports.get(name, ()) if other in sys.modules and other != name)
            found.append([name, sorted(reads.get(name, ())), imported])
    return found


def loaded_from(folders: list[str]) -> list[str]:
    """The loaded modules whose file is in one of these folders, in import order."""
    prefixes = tuple(os.path.join(folder, "") for folder in folders)
    return [
        name
        for name, module in list(sys.modules.items())
        if (getattr(module, "__file__", None) or "").startswith(prefixes)
    ]


class loader_calls:
    """The service-model loads of this process's shared botocore loader (shared_loader) not reported yet."""

    def __init__(self) -> None:
        self._reported = len(_LOADER.asked) if _LOADER else 0

    def report(self) -> dict[str, Any]:
        if _LOADER is None or len(_LOADER.asked) == self._reported:
            return {}
        new, self._reported = _LOADER.asked[self._reported :], len(_LOADER.asked)
        return {"models": new}


_LOADER: Any = None  # the template's botocore loader (shared_loader), inherited by its forks


def shared_loader() -> Any:
    """botocore's data loader, made once in the template and given to every botocore session of its forks that
    asks for the default one (AWS_DATA_PATH unset), so the models a fork's clients load were read into the template's
    pages where the template had loaded them already. It notes each load (`asked`), which the fork reports."""
    try:
        import botocore.loaders
        import botocore.session
    except ImportError:
        return None

    class SearchPaths(list):
        def append(self, path: str) -> None:  # each boto3 Session appends its data folder to its loader's paths
            if path not in self:
                super().append(path)

    class RecordingLoader(botocore.loaders.Loader):
        def __init__(self) -> None:
            super().__init__()
            self._search_paths = SearchPaths(self._search_paths)
            self.asked: list[list[Any]] = []

        def _ask(self, call: list[Any]) -> None:
            if call not in self.asked:
                self.asked.append(call)

        def load_service_model(self, service_name: str, type_name: str, api_version: str | None = None) -> Any:
            self._ask(["load_service_model", service_name, type_name, api_version])
            return super().load_service_model(service_name, type_name, api_version)

        def load_data_with_path(self, name: str) -> Any:  # load_data's, and botocore's own for endpoints.json
            self._ask(["load_data_with_path", name])
            return super().load_data_with_path(name)

    loader, default = RecordingLoader(), botocore.session.create_loader
    try:  # as boto3.Session does to its loader: so the template finds boto3's resource models too
        import boto3

        loader.search_paths.append(os.path.join(os.path.dirname(boto3.__file__), "data"))
    except ImportError:
        pass

    def create_loader(search_path_string: str | None = None) -> Any:
        return loader if search_path_string is None else default(search_path_string)

    botocore.session.create_loader = create_loader
    return loader


def load_models(calls: list[list[Any]]) -> None:
    """In the template: make the loads its forks reported (unknown ones are skipped: a fork reported what it asked)."""
    for call in calls:
        if _LOADER is None or call in _LOADER.asked or call[0] not in ("load_service_model", "load_data_with_path"):
            continue
        try:
            getattr(_LOADER, call[0])(*call[1:])
        except Exception:  # an unknown service: the fork that asked got the same error
            _LOADER.asked.append(call)


# What every environment of a runtime imports before its handler: the runtime's SDK (a fresh interpreter spends most
# of a cold start importing it). A template imports them once; its forks start with them loaded.
PRELOAD = ("boto3", "boto3.session", "botocore.session", "botocore.client", "botocore.config", "botocore.exceptions")


def template(control: socket.socket) -> None:
    """A warm template of this runtime: one single-threaded process that has imported PRELOAD, made the shared
    botocore loader and opened nothing else, and forks an execution environment for each request of the executor."""
    global _LOADER, _RUNTIME_PATH
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # a runtime venv without boto3 still gets environments, just slower ones
    _LOADER = shared_loader()
    _RUNTIME_PATH = list(sys.path)
    serve_forks(control, sorted({name.split(".")[0] for name in PRELOAD if name in sys.modules}))


def layer_template(request: dict[str, Any], control: socket.socket) -> None:
    """In a fresh fork of the runtime's template: a template for functions of these layers. It imports the modules a
    fork taught, with the variables their imports read set as they were there, then serves forks. It refuses (and
    ends) if an import reads a variable the lesson did not name, starts a thread or leaves a file open: a fork must
    not inherit what another function's settings made."""
    env = request["env"]
    os.environ.update({name: value for name, value in env.items() if value is not None})
    sys.path[:0] = request["paths"]
    importlib.invalidate_caches()
    # No working folder: an import that opens a file of the function's (relative to its code folder, where the fork
    # that taught ran) fails here and is refused, instead of reading whatever LocalStack's folder holds.
    os.chdir(gone := tempfile.mkdtemp(prefix="layer-template-"))
    os.rmdir(gone)
    files = sorted(os.listdir("/proc/self/fd"))
    for module in request["modules"]:
        with watched_environment() as reads:
            try:
                importlib.import_module(module)
            except Exception as error:  # noqa: BLE001 - it imported in the fork that taught it: say why not here
                refuse(control, module, f"importing {module} failed: {error!r}")
        if unnamed := set().union(*reads.values()) - env.keys():
            refuse(control, module, f"importing {module} read {', '.join(sorted(unnamed))}")
    if len(os.listdir("/proc/self/task")) > 1:
        refuse(control, None, "its imports started a thread")
    if sorted(os.listdir("/proc/self/fd")) != files:
        refuse(control, None, "its imports left a file open")
    serve_forks(control, sorted({name.split(".")[0] for name in loaded_from(request["paths"])}))


def refuse(control: socket.socket, module: str | None, reason: str) -> None:
    control.sendall(json.dumps({"refused": reason, "module": module}).encode())
    os._exit(1)


_RUNTIME_PATH: list[str] = []  # the runtime's own sys.path, under each environment's PYTHONPATH


def serve_forks(control: socket.socket, preloaded: list[str]) -> None:
    """The template's loop. In (a datagram with descriptors): {"env", "cwd", "layers", "models"} with the
    environment's socket and log file, or {"template": {"paths", "modules", "env"}} with a layer template's socket.
    Out: {"ready": true, "preloaded": [top-level package, ...]} once; {"started": pid} per request; {"exited": pid,
    "code": exit code as Popen gives it} when a fork ends (the template is its parent and reaps it)."""
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
            request = json.loads(data)
            load_models(request.get("models", []))
            gc.freeze()
            pid = os.fork()
            if pid == 0:
                try:
                    for fd in (control.fileno(), wakeup_read, wakeup_write):
                        os.close(fd)
                    signal.set_wakeup_fd(-1)
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    os.setpgid(0, 0)  # its own process group: stop() kills what the handler started too
                    die_with_parent(os.getppid())  # the template, which dies with LocalStack
                    if "template" in request:
                        layer_template(request["template"], socket.socket(fileno=fds[0]))
                    else:
                        become_environment(request, *fds)
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
    """In a fresh fork of a template: take on the function's environment, as a new interpreter started with it
    would have, then serve it."""
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    env = request["env"]
    os.environ.clear()
    os.environ.update(env)
    time.tzset()
    sys.dont_write_bytecode = bool(env.get("PYTHONDONTWRITEBYTECODE"))
    os.chdir(request["cwd"])
    sys.path[:] = [entry for entry in env.get("PYTHONPATH", "").split(os.pathsep) if entry] + _RUNTIME_PATH
    importlib.invalidate_caches()
    serve(socket.socket(fileno=channel_fd), env["_HANDLER"], None, request.get("layers") or [])
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
        template(socket.socket(fileno=fd))
        return
    fd, parent_pid = int(sys.argv[1]), int(sys.argv[2])
    debugger = (sys.argv[3], int(sys.argv[4])) if len(sys.argv) > 4 else None
    die_with_parent(parent_pid)
    sys.argv = sys.argv[:1]
    serve(socket.socket(fileno=fd), os.environ["_HANDLER"], debugger)


if __name__ == "__main__":
    main()
