"""The last line of every bench: one JSON object with its figures, so that runs can be compared by a script.

    python -m bench.sweep | tail -1 | jq .

Keys are the bench's name, the machine's load when it ended, and the figures it measured (rates per second,
ratios, latencies in ms as p50_ms/p99_ms, 5xx counts, rss_mib); a figure not measured is left out, never 0.
"""

from __future__ import annotations

import json
import os
from typing import Any


def print_summary(bench: str, figures: dict[str, Any]) -> None:
    """Print the one-line JSON summary; call it last, after every human-readable line."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    line = {"bench": bench, "load_1m": round(load[0], 2), **{k: _rounded(v) for k, v in figures.items()}}
    print(json.dumps(line, sort_keys=False), flush=True)


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value
