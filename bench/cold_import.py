"""What a change costs a function's cold start: the time to import its handler in the Lambda runtime's Python,
before (a git ref, default main) and after (this working tree). No stack needed.

    .venv/bin/python bench/cold_import.py [--before main] [--functions get_balance,start_payment,ingest_bills]
                                          [--runs 20] [--python .stack/runtimes/python3.13/bin/python]
                                          [--tracing off|on]

Each side is built by its own stack/build_lambdas.py (the working tree's into build/, as `make deploy` does) and
unzipped as our executor lays a function out: PYTHONPATH is the function's code, then the layer's python/ (and its
lib/python3.13/site-packages), then the runtime venv, which holds only boto3. A run is a fresh `python -s -c "import
handler"` with the deployed functions' powertools settings (tracing off as locally, or on as on AWS by default),
timed from outside. Before and after run
in turn, RUNS pairs after one unmeasured pair, so that a drift of the machine's speed hits both; the ratio is the
median of the pairs' ratios.

Two cases, as the code's folders are:
- "no .pyc": what AWS does. The zips hold no bytecode and /opt and /var/task are read-only, so every cold start
  compiles the layer's and the function's modules again (the runtime's boto3 has its .pyc).
- ".pyc cached": the local stack after a function's first start (LocalStack unzips into a writable folder, where
  Python keeps the bytecode it compiled).

Then `-X importtime` in both cases: the handler module's cumulative import time (median of 5), and how much of it
the first imports of aws_lambda_powertools and of the X-Ray SDK (which its Tracer imports when created) take.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RUNTIME = "python3.13"
IMPORT_HANDLER = "import handler"
# What Terraform gives every function (docs/architecture.md); POWERTOOLS_TRACE_DISABLED comes from --tracing.
FUNCTION_ENV = {
    "POWERTOOLS_SERVICE_NAME": "payproc",
    "POWERTOOLS_METRICS_NAMESPACE": "Payproc",
    "AWS_DEFAULT_REGION": "us-east-1",
    "LANG": "C.UTF-8",
    "AWS_EXECUTION_ENV": f"AWS_Lambda_{RUNTIME}",
}
IMPORTTIME_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)$")
# What the powertools change brings in: powertools itself, and the X-Ray SDK its Tracer imports when created.
WATCHED = ("aws_lambda_powertools", "aws_xray_sdk.core")


def build(source: Path, out: Path) -> Path:
    """Build the zips of a checkout with its own build_lambdas.py; return the folder they are in."""
    subprocess.run(
        [
            sys.executable,
            str(source / "stack" / "build_lambdas.py"),
            "--functions",
            str(source / "functions"),
            "--lib",
            str(source / "lib"),
            "--out",
            str(out),
            "--quiet",
        ],
        check=True,
    )
    return out


def checkout_of(ref: str, folder: Path) -> Path:
    """The files of `ref` that the zips are built from, written into folder."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", ref, "functions", "lib", "stack/build_lambdas.py"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def unzip(archive: Path, folder: Path) -> Path:
    with zipfile.ZipFile(archive) as bundle:
        bundle.extractall(folder)
    return folder


class Side:
    """One version of the functions, unzipped: how to start a fresh interpreter that imports a handler."""

    def __init__(self, name: str, build_dir: Path, folder: Path, python: Path, tracing: bool) -> None:
        self.name, self.python = name, python
        self.function_env = {**FUNCTION_ENV, "POWERTOOLS_TRACE_DISABLED": "false" if tracing else "true"}
        self.layer = unzip(build_dir / "layers" / "payproc.zip", folder / "layer") / "python"
        self.code = {
            zipped.stem: unzip(zipped, folder / "functions" / zipped.stem)
            for zipped in sorted((build_dir / "functions").glob("*.zip"))
        }

    def command(self, function: str, *flags: str) -> tuple[list[str], dict[str, str], Path]:
        code = self.code[function]
        path = [code, self.layer / "lib" / f"python{RUNTIME.removeprefix('python')}" / "site-packages", self.layer]
        env = {
            **self.function_env,
            "PATH": f"{self.python.parent}:/usr/bin:/bin",
            "LAMBDA_TASK_ROOT": str(code),
            "AWS_LAMBDA_FUNCTION_NAME": function,
            "PYTHONPATH": os.pathsep.join(map(str, path)),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        return [str(self.python), "-s", *flags, "-c", IMPORT_HANDLER], env, code

    def run(self, function: str, *flags: str) -> tuple[float, str]:
        """Wall milliseconds of one fresh import, and what it wrote on stderr."""
        command, env, cwd = self.command(function, *flags)
        started = time.perf_counter()
        done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
        elapsed = (time.perf_counter() - started) * 1000
        if done.returncode:
            raise SystemExit(f"{self.name} {function}: {done.stderr}")
        return elapsed, done.stderr

    def compile(self) -> None:
        """Write the .pyc files a writable code folder would keep after the first start."""
        subprocess.run(
            [str(self.python), "-m", "compileall", "-q", *map(str, [self.layer, *self.code.values()])],
            check=True,
            env={"PATH": "/usr/bin:/bin"},
        )

    def importtime(self, function: str, runs: int = 5) -> dict[str, float]:
        """Median cumulative ms of `-X importtime` over `runs` for the handler module and for the first import of
        each of WATCHED (absent: 0)."""
        found: dict[str, list[float]] = {module: [] for module in ("handler", *WATCHED)}
        for _ in range(runs):
            _, stderr = self.run(function, "-X", "importtime")
            cumulative = {}
            for line in stderr.splitlines():
                if match := IMPORTTIME_LINE.match(line):
                    cumulative.setdefault(match[4], int(match[2]) / 1000)
            for module, times in found.items():
                times.append(cumulative.get(module, 0.0))
        return {module: statistics.median(times) for module, times in found.items()}


def paired(before: Side, after: Side, function: str, runs: int) -> tuple[float, float, float]:
    """Median ms before, after, and median of the paired after/before ratios."""
    before.run(function)  # unmeasured: the file cache
    after.run(function)
    times: list[tuple[float, float]] = []
    for _ in range(runs):
        b = before.run(function)[0]
        a = after.run(function)[0]
        times.append((b, a))
    return (
        statistics.median(b for b, _ in times),
        statistics.median(a for _, a in times),
        statistics.median(a / b for b, a in times),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", default="main", help="git ref of the version to compare with (default main)")
    parser.add_argument("--functions", default="get_balance,start_payment,ingest_bills")
    parser.add_argument("--runs", type=int, default=20, help="measured pairs per function and case (default 20)")
    parser.add_argument(
        "--python",
        type=Path,
        default=REPO / ".stack" / "runtimes" / RUNTIME / "bin" / "python",
        help="the runtime venv's interpreter (stack/setup.sh makes it)",
    )
    parser.add_argument(
        "--tracing",
        choices=["off", "on"],
        default="off",
        help="off: as the local stack deploys (default); on: as AWS does by default (X-Ray)",
    )
    args = parser.parse_args()
    tracing = args.tracing == "on"
    functions = args.functions.split(",")
    if not args.python.is_file():
        raise SystemExit(f"no {args.python}: run `make setup` or give --python")

    with tempfile.TemporaryDirectory(prefix="cold-import-") as temporary:
        work = Path(temporary)
        before = Side(
            args.before,
            build(checkout_of(args.before, work / "before-src"), work / "before-build"),
            work / "before",
            args.python,
            tracing,
        )
        after = Side("working tree", build(REPO, REPO / "build"), work / "after", args.python, tracing)
        rows, imports = [], []
        for case in ("no .pyc", ".pyc cached"):
            if case == ".pyc cached":
                before.compile()
                after.compile()
            for function in functions:
                b, a, ratio = paired(before, after, function, args.runs)
                rows.append(f"| {function} | {case} | {b:.0f} | {a:.0f} | {ratio:.2f}x |")
                was, now = before.importtime(function), after.importtime(function)
                imports.append(
                    f"| {function} | {case} | {was['handler']:.0f} | {now['handler']:.0f} | "
                    + " | ".join(f"{now[module]:.0f}" for module in WATCHED)
                    + " |"
                )
        print(
            f"Cold import of the handler (tracing {args.tracing}): {args.runs} fresh `{args.python.name} -s -c "
            f"'{IMPORT_HANDLER}'` in turn with {args.before}'s, median wall ms\n"
        )
        print(f"| function | case | {args.before} | working tree | ratio (median of pairs) |")
        print("| --- | --- | --- | --- | --- |")
        print("\n".join(rows))
        print(
            "\n`-X importtime`, median of 5: cumulative ms of the handler module, and of the working tree's first "
            "import of each package the change brings in\n"
        )
        print(
            f"| function | case | handler, {args.before} | handler, working tree | "
            + " | ".join(f"`{module}`" for module in WATCHED)
            + " |"
        )
        print("| --- | --- | --- | --- |" + " --- |" * len(WATCHED))
        print("\n".join(imports))


if __name__ == "__main__":
    main()
