"""Fault injection on the running stack, from the outside: Lambda runtime processes found through /proc and killed,
and a loopback proxy in front of DynamoDB that kills the function calling it at a chosen moment."""

from __future__ import annotations

import http.client
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from tests.helpers.stack import ENDPOINT, REPO

sys.path.insert(0, str(REPO / "stack"))
import stackctl  # noqa: E402


def runtime_processes(function_name: str) -> list[int]:
    """Pids of the executor's runtime processes of this function (stack/stackctl.py)."""
    return stackctl.function_processes(function_name)


def process_with_connection(client_port: int, server_port: int) -> int | None:
    """The pid holding the client end of the loopback TCP connection from client_port to server_port (both ports:
    Linux gives one local port to several connections that go to different places)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            ports = (int(fields[1].rsplit(":", 1)[1], 16), int(fields[2].rsplit(":", 1)[1], 16))
            if ports == (client_port, server_port):
                inodes.add(fields[9])
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if any(os.readlink(fd).removeprefix("socket:[").rstrip("]") in inodes for fd in (entry / "fd").iterdir()):
                return int(entry.name)
        except OSError:
            continue
    return None


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
                    proxy._kill_caller(self.client_address[1])
                    self.close_connection = True
                    return
                connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=30)
                connection.request("POST", self.path, body, headers=dict(self.headers))
                answer = connection.getresponse()
                data = answer.read()
                connection.close()
                if trap:
                    proxy._kill_caller(self.client_address[1])
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

    def _kill_caller(self, client_port: int) -> None:
        """Kill the process that sent this request: the one holding the other end of its connection."""
        pid = process_with_connection(client_port, self._server.server_address[1])
        ours = pid is not None and pid in runtime_processes(self.function_name)
        if ours:
            kill(pid)
        self.killed[:] = [pid if ours else 0]  # 0: the test fails, saying the fault was not injected

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
