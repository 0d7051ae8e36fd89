"""The results: a table printed and written as Markdown and JSON, and a PNG of the latency distributions."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

from bench.common import Figure


def _num(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit in ("rows/s", "ms", "MB") and abs(value) >= 100:
        return f"{value:,.0f} {unit}"
    return f"{value:.2f} {unit}" if unit == "s" else f"{value:.1f} {unit}"


def _ratio(figure: Figure, other: float | None) -> str:
    if figure.value is None or not other:
        return "—"
    return f"{figure.value / other:.2f}×"


def machine() -> dict[str, Any]:
    load = os.getloadavg()
    return {
        "cpus": os.cpu_count(),
        "load_average_1_5_15": [round(x, 2) for x in load],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def markdown(figures: list[Figure], meta: dict[str, Any]) -> str:
    lines = [
        f"# Benchmark run {meta['run']}",
        "",
        f"Machine: {meta['machine']['cpus']} CPUs, load average at start {meta['load_at_start']}, at end "
        f"{meta['machine']['load_average_1_5_15']} (1/5/15 min); {meta['machine']['platform']}. "
        f"Stack: {meta['stack']}. Options: {meta['options']}.",
        "",
        "| § | figure | measured | baseline (same run) | ratio | ceiling (same run) | ratio | target | met |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for f in figures:
        met = {True: "yes", False: "**no**", None: "—"}[f.met]
        base = f"{_num(f.baseline, f.unit)} {f.baseline_label}".strip() if f.baseline is not None else "—"
        ceil = f"{_num(f.ceiling, f.unit)} {f.ceiling_label}".strip() if f.ceiling is not None else "—"
        lines.append(
            f"| {f.section} | {f.name} | {_num(f.value, f.unit)} | {base} | {_ratio(f, f.baseline)} | "
            f"{ceil} | {_ratio(f, f.ceiling)} | {f.target or '—'} | {met} |"
        )
    notes = [f"- {f.section} {f.name}: {f.note}" for f in figures if f.note]
    if notes:
        lines += ["", "Notes:", *notes]
    return "\n".join(lines) + "\n"


def write(out_dir: Path, figures: list[Figure], meta: dict[str, Any], latencies: dict[str, list[float]]) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    text = markdown(figures, meta)
    (out_dir / "latest.md").write_text(text)
    (out_dir / "latest.json").write_text(json.dumps({**meta, "figures": [f.as_dict() for f in figures]}, indent=1))
    plot(out_dir / "latest-latency.png", latencies)
    print(text)
    return out_dir


def plot(path: Path, latencies: dict[str, list[float]]) -> None:
    """Box plots (log scale) of each latency series: API routes and payments end to end."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = {name: values for name, values in latencies.items() if values}
    if not series:
        return
    fig, ax = plt.subplots(figsize=(11, 0.5 * len(series) + 2))
    ax.boxplot(
        list(series.values()),
        vert=False,
        whis=(1, 99),
        showfliers=False,
        tick_labels=[f"{name} (n={len(v)})" for name, v in series.items()],
    )
    ax.set_xscale("log")
    ax.set_xlabel("latency, ms (log scale; box 25–75 %, whiskers p1–p99)")
    ax.grid(axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
