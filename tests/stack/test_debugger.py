"""The debugger switch (`make up DEBUG_FUNCTION=<name>`, embedded stack) as an IDE meets it: a Debug Adapter Protocol
client attaches to the function's debugpy, stops at a breakpoint in the handler's module-level code and one in the
handler, sits there past the function's timeout, continues, and the invoke completes normally.

LocalStack reads the switch when it starts, so this suite starts a stack of its own with it: stackctl's embedded
settings, on free ports, with its files in a temporary folder, beside whatever stack the checkout runs.
"""

from __future__ import annotations

import base64
import json
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.config import Config

from tests.helpers.stack import create_test_function, own_embedded_stack, wait_for, zipped

RUN = uuid.uuid4().hex[:8]
ROLE_ARN = "arn:aws:iam::000000000000:role/debugger-test"  # LocalStack does not enforce IAM
TIMEOUT_S = 2  # the function's timeout, which the breakpoint outlasts
HANDLER = """\
from shared import sums

LOADED_AT = sums.now()  # module level


def handler(event, context):
    total = sums.add(event["a"], event["b"])  # in the handler
    return {"total": total, "loaded_at": LOADED_AT}
"""
LAYER_MODULE = """\
import time


def now():
    return time.time()


def add(a, b):
    return a + b  # in the layer
"""


def line_of(source: str, marker: str) -> int:
    return next(number for number, line in enumerate(source.splitlines(), 1) if marker in line)


class DapClient:
    """Just enough of the Debug Adapter Protocol (JSON messages framed by Content-Length, over TCP) to drive debugpy as
    VS Code does. Our own: PyPI has no maintained DAP client, and this is all of it that an attach needs."""

    def __init__(self, port: int) -> None:
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=60)  # a silent adapter fails the test
        self.reader = self.socket.makefile("rb")
        self.seq = 0
        self.unclaimed: list[dict] = []

    def send(self, command: str, **arguments) -> int:
        self.seq += 1
        body = json.dumps({"seq": self.seq, "type": "request", "command": command, "arguments": arguments}).encode()
        self.socket.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        return self.seq

    def request(self, command: str, **arguments) -> dict:
        return self.response(self.send(command, **arguments))

    def response(self, seq: int) -> dict:
        message = self.next(lambda m: m["type"] == "response" and m["request_seq"] == seq)
        assert message["success"], message
        return message.get("body", {})

    def event(self, name: str) -> dict:
        return self.next(lambda m: m["type"] == "event" and m["event"] == name).get("body", {})

    def next(self, wanted) -> dict:
        """The first message, read earlier or now, that `wanted` accepts; the others stay for later calls."""
        for message in self.unclaimed:
            if wanted(message):
                self.unclaimed.remove(message)
                return message
        while True:
            try:
                message = self.read()
            except TimeoutError:
                sent = [m.get("event") or m.get("command") for m in self.unclaimed]
                raise AssertionError(f"the debug adapter sent nothing awaited within 60 s, only {sent}") from None
            if wanted(message):
                return message
            self.unclaimed.append(message)

    def read(self) -> dict:
        length = None
        while header := self.reader.readline().strip():
            name, _, value = header.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        assert length is not None, "the debug adapter closed the connection"
        return json.loads(self.reader.read(length))

    def stopped_at(self) -> tuple[int, str, int]:
        """Wait for the debuggee to stop; its thread, and the file and line of the top frame."""
        stopped = self.event("stopped")
        frame = self.request("stackTrace", threadId=stopped["threadId"], startFrame=0, levels=1)["stackFrames"][0]
        return stopped["threadId"], frame["source"]["path"], frame["line"]

    def close(self) -> None:
        self.socket.close()


@pytest.fixture(scope="module")
def debug_stack(tmp_path_factory):
    """An embedded stack started as `make up DEBUG_FUNCTION=start_payment DEBUG_PORT=<port>` would start it:
    {"lambda": client, "debug_port": port, "root": its FILESYSTEM_ROOT}."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        debug_port = probe.getsockname()[1]
    home = tmp_path_factory.mktemp("debug-stack")
    switch = {"DEBUG_FUNCTION": "start_payment", "DEBUG_PORT": str(debug_port)}
    with own_embedded_stack(home, switch, SERVICES="lambda,logs,s3,sts,iam") as (url, _):
        session = boto3.session.Session(region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
        # An invoke lasts as long as the test sits on breakpoints; boto3 must neither give up nor retry it.
        patient = Config(read_timeout=300, retries={"max_attempts": 0})
        yield {
            "lambda": session.client("lambda", endpoint_url=url, config=patient),
            "debug_port": debug_port,
            "root": home / "root",
        }


def invoke(lam, name: str, event: dict) -> tuple[dict, dict, str]:
    """(the raw boto3 response, its decoded payload, the tail of its log)"""
    response = lam.invoke(FunctionName=name, Payload=json.dumps(event).encode(), LogType="Tail")
    return response, json.loads(response["Payload"].read()), base64.b64decode(response["LogResult"]).decode()


def test_a_client_stops_at_breakpoints_past_the_timeout_and_the_invoke_completes(debug_stack, tmp_path):
    lam, debug_port = debug_stack["lambda"], debug_stack["debug_port"]
    # The sources as the user edits them: the function's folder and the shared library the layer is built from.
    handler_file, layer_file = tmp_path / "start_payment" / "handler.py", tmp_path / "lib" / "shared" / "sums.py"
    for path, text in ((handler_file, HANDLER), (layer_file, LAYER_MODULE)):
        path.parent.mkdir(parents=True)
        path.write_text(text)
    layer_name = f"dbg{RUN}-shared"
    layer = lam.publish_layer_version(
        LayerName=layer_name,
        CompatibleRuntimes=["python3.13"],
        Content={"ZipFile": zipped({"python/shared/sums.py": LAYER_MODULE})},
    )
    # Deployed under a prefix, as Terraform names it (payproc-start-payment): DEBUG_FUNCTION gave the short name.
    name = f"dbg{RUN}-start-payment"
    create_test_function(lam, name, HANDLER, ROLE_ARN, Timeout=TIMEOUT_S, Layers=[layer["LayerVersionArn"]])
    # Not a `with` block: a failing test must not wait for an invoke that may be waiting for a debugger.
    pool = ThreadPoolExecutor(1)
    dap = None
    try:
        first = pool.submit(invoke, lam, name, {"a": 2, "b": 3})
        dap = wait_for(lambda: _connect(debug_port), timeout=60)  # the invoke starts the environment, which listens
        dap.request(
            "initialize",
            clientID="payproc-tests",
            adapterID="debugpy",
            pathFormat="path",
            linesStartAt1=True,
            columnsStartAt1=True,
        )
        # As the README's launch.json: the process runs the deployed copy with its folder as working directory,
        # and the layer through a link that keeps its path across deploys.
        layer_link = debug_stack["root"] / "debug" / "layers" / layer_name / "python"
        attach = dap.send(
            "attach",
            pathMappings=[
                {"localRoot": str(handler_file.parent), "remoteRoot": "."},
                {"localRoot": str(layer_file.parent.parent), "remoteRoot": str(layer_link)},
            ],
        )
        dap.event("initialized")
        dap.request(
            "setBreakpoints",
            source={"path": str(handler_file)},
            breakpoints=[{"line": line_of(HANDLER, "# module level")}, {"line": line_of(HANDLER, "# in the handler")}],
        )
        dap.request(
            "setBreakpoints",
            source={"path": str(layer_file)},
            breakpoints=[{"line": line_of(LAYER_MODULE, "# in the layer")}],
        )
        dap.request("configurationDone")
        dap.response(attach)

        breakpoints = [
            (str(handler_file), line_of(HANDLER, "# module level")),
            (str(handler_file), line_of(HANDLER, "# in the handler")),
            (str(layer_file), line_of(LAYER_MODULE, "# in the layer")),
        ]
        thread, path, line = dap.stopped_at()
        stops = [(path, line)]
        while len(stops) < len(breakpoints) and stops[-1] in breakpoints:
            dap.request("continue", threadId=thread)
            thread, path, line = dap.stopped_at()
            stops.append((path, line))
        assert stops == breakpoints  # in order, each file as the user has it, each line as set
        stopped = time.monotonic()

        # Meanwhile a second invoke needs a second environment: the port is taken, so it runs undebugged.
        response, result, log = invoke(lam, name, {"a": 1, "b": 1})
        assert "FunctionError" not in response and result["total"] == 2, result
        assert "runs without the debugger" in log

        time.sleep(max(0.0, TIMEOUT_S + 1 - (time.monotonic() - stopped)))  # on the breakpoint past the timeout
        dap.request("continue", threadId=thread)
        response, result, _ = first.result(timeout=60)
        assert "FunctionError" not in response, result
        assert result["total"] == 5
    finally:
        if dap:
            dap.close()
        pool.shutdown(wait=False, cancel_futures=True)
        lam.delete_function(FunctionName=name)
        lam.delete_layer_version(LayerName=layer_name, VersionNumber=layer["Version"])


def _connect(port: int) -> DapClient | None:
    try:
        return DapClient(port)
    except ConnectionRefusedError:
        return None
