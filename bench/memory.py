"""Peak memory of a Lambda function's processes in the embedded stack.

Our executor's REPORT line has no `Max Memory Used`, so the benchmark reads the kernel's figures of the function's
host processes while it runs: every 0.2 s it finds the function's runtime processes (stackctl.function_processes;
the process list is re-read every 2 s, which keeps the sampler's own CPU small) and records the
largest VmRSS it sees (the peak during this measurement) and the largest VmHWM (the process's lifetime peak).
"""

from __future__ import annotations

import sys
from pathlib import Path

from bench.common import REPO, Periodic

sys.path.insert(0, str(REPO / "stack"))
import stackctl  # noqa: E402


def status_kb(pid: int, field: str) -> int:
    """A /proc/<pid>/status figure in kB (VmRSS, VmHWM, ...); 0 for a process that is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class PeakMemory(Periodic):
    """Context manager sampling a function's processes; peak_rss_mb / lifetime_hwm_mb after exit."""

    def __init__(self, function_name: str, interval_s: float = 0.2, rescan_every: int = 10) -> None:
        super().__init__(interval_s)
        self.function_name = function_name
        self.peak_rss_kb = 0
        self.hwm_kb = 0
        self.processes: set[int] = set()
        self._rescan_every, self._samples = rescan_every, 0

    def tick(self) -> None:
        if self._samples % self._rescan_every == 0:
            self.processes.update(stackctl.function_processes(self.function_name))
        self._samples += 1
        for pid in self.processes:
            self.peak_rss_kb = max(self.peak_rss_kb, status_kb(pid, "VmRSS"))
            self.hwm_kb = max(self.hwm_kb, status_kb(pid, "VmHWM"))

    def __exit__(self, *_: object) -> None:
        super().__exit__()
        self._samples = 0  # a last sample, with a fresh process list
        self.tick()

    @property
    def peak_rss_mb(self) -> float:
        return self.peak_rss_kb / 1024

    @property
    def lifetime_hwm_mb(self) -> float:
        return self.hwm_kb / 1024
