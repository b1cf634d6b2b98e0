"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def rss_mb(field: str = "VmRSS") -> float:
    """This process's resident memory now (or another figure of /proc/self/status, such as
    its peak, ``VmHWM``), in MB (Linux)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return 0.0


def save_report(name: str, report: dict) -> Path:
    """Write ``report`` as bench/results/NAME.json (the raw numbers behind docs/BENCHMARKS.md)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}.json"
    out.write_text(json.dumps(report, indent=2))
    return out
