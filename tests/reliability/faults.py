"""Fault injection on the running stack, from the outside: Lambda runtime processes found through /proc and killed,
and a loopback proxy in front of DynamoDB that kills the function calling it at a chosen moment."""

from __future__ import annotations

import http.client
import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from tests.support import ENDPOINT

BOOTSTRAP = "localstack_process_executor/bootstrap.py"


def runtime_processes(function_name: str, **env: str) -> list[int]:
    """Pids of the executor's runtime processes (children of LocalStack running bootstrap.py) for this function,
    optionally only those whose environment holds every given variable."""
    wanted = {"AWS_LAMBDA_FUNCTION_NAME": function_name, **env}
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if BOOTSTRAP not in (entry / "cmdline").read_bytes().decode(errors="replace"):
                continue
            variables = dict(
                line.split("=", 1)
                for line in (entry / "environ").read_bytes().decode(errors="replace").split("\0")
                if "=" in line
            )
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if all(variables.get(name) == value for name, value in wanted.items()):
            found.append(int(entry.name))
    return found


def cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return -1
    return int(fields[11]) + int(fields[12])  # utime + stime


def busiest(pids: list[int], sample_seconds: float = 0.3) -> int | None:
    """The process that used the most CPU over a short sample (the one running an invoke), if any did."""
    before = {pid: cpu_ticks(pid) for pid in pids}
    time.sleep(sample_seconds)
    used = {pid: cpu_ticks(pid) - before[pid] for pid in pids if before[pid] >= 0}
    busy = {pid: ticks for pid, ticks in used.items() if ticks > 0}
    return max(busy, key=busy.get) if busy else None


def kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)


class KillingDynamoDBProxy:
    """A loopback HTTP proxy for one function's DynamoDB calls (its AWS_ENDPOINT_URL_DYNAMODB points here).

    Transparent, except once: the first TransactWriteItems naming `marker` kills the calling function's runtime
    process, either before forwarding it (nothing committed) or after DynamoDB answered (committed, answer lost).
    """

    def __init__(self, function_name: str, marker: str, after_commit: bool):
        self.function_name, self.marker, self.after_commit = function_name, marker.encode(), after_commit
        self.killed: list[int] = []
        self.requests = 0
        self._lock = threading.Lock()
        upstream = urlsplit(ENDPOINT)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                trap = proxy._springs(self.headers.get("X-Amz-Target", ""), body)
                if trap and not proxy.after_commit:
                    proxy._kill_caller()
                    self.close_connection = True
                    return
                connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=30)
                connection.request("POST", self.path, body, headers=dict(self.headers))
                answer = connection.getresponse()
                data = answer.read()
                connection.close()
                if trap:
                    proxy._kill_caller()
                    self.close_connection = True
                    return
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _springs(self, target: str, body: bytes) -> bool:
        with self._lock:
            self.requests += 1
            if self.killed or not target.endswith("TransactWriteItems") or self.marker not in body:
                return False
            self.killed.append(-1)  # armed once, whatever happens next
            return True

    def _kill_caller(self) -> None:
        # The caller is the runtime process of this function configured with this proxy: no other process matches.
        pids = runtime_processes(self.function_name, AWS_ENDPOINT_URL_DYNAMODB=self.url)
        for pid in pids:
            kill(pid)
        self.killed[:] = pids

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
