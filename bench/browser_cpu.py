"""What the browser tests' Chromium costs in CPU: Debian's chromium-headless-shell (what tests/browser uses) against
the full chromium in its headless mode, on the deployed page. Needs a deployed stack (build/outputs.json).

    .venv/bin/python -m bench.browser_cpu [--pages 10] [--rounds 3]

A round is, for each browser in turn: a launch with the suite's flags, then PAGES fresh contexts that each load the
page, wait for the network to go quiet and take a screenshot, as a browser test does; the figure is the CPU time of
the browser's processes (the child processes of one Python process, reaped when it ends), with the wall time. The
ratio is the median of the rounds' ratios, so a drift of the machine's speed hits both browsers.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

from bench.common import REPO

BROWSERS = {"headless shell": "/usr/bin/chromium-headless-shell", "full chromium": "/usr/bin/chromium"}
ONE_BROWSER = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[3])
from playwright.sync_api import sync_playwright
from tests.browser.conftest import DESKTOP, chromium_args
outputs = json.loads(open(sys.argv[4]).read())
started = time.monotonic()
with sync_playwright() as playwright:
    browser = playwright.chromium.launch(
        executable_path=sys.argv[1], headless=True, args=chromium_args(outputs["site_url"], outputs["api_url"])
    )
    for _ in range(int(sys.argv[2])):
        context = browser.new_context(viewport=DESKTOP, device_scale_factor=1, service_workers="block")
        page = context.new_page()
        page.goto(outputs["site_url"])
        page.wait_for_load_state("networkidle")
        page.screenshot()
        context.close()
    browser.close()
used = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"cpu_s": used.ru_utime + used.ru_stime, "wall_s": time.monotonic() - started}))
"""


def measure(executable: str, pages: int) -> dict[str, float]:
    outputs = REPO / "build" / "outputs.json"
    result = subprocess.run(
        [sys.executable, "-c", ONE_BROWSER, executable, str(pages), str(REPO), str(outputs)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    figures: dict[str, list[dict[str, float]]] = {name: [] for name in BROWSERS}
    for round_number in range(1, args.rounds + 1):
        for name, executable in BROWSERS.items():
            figures[name].append(measure(executable, args.pages))
            print(f"round {round_number} {name}: {figures[name][-1]['cpu_s']:.2f} CPU-s", flush=True)
    shell, full = (figures[name] for name in BROWSERS)
    for name, runs in figures.items():
        cpu = statistics.median(run["cpu_s"] for run in runs)
        wall = statistics.median(run["wall_s"] for run in runs)
        print(f"{name:15} launch + {args.pages} pages: {cpu:5.2f} CPU-s, {wall:5.1f} s (median of {args.rounds})")
    ratio = statistics.median(s["cpu_s"] / f["cpu_s"] for s, f in zip(shell, full, strict=True))
    print(f"headless shell / full chromium, CPU: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
