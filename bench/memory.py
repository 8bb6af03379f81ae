"""Memory readings: current and peak RSS from /proc (cheap enough to sample inside a timed loop), and tracemalloc."""

from __future__ import annotations

import gc
import os
import resource
import sys
import tracemalloc
from dataclasses import dataclass

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes() -> int:
    """Current resident set size; falls back to the peak where /proc is missing."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except OSError:
        return peak_rss_bytes()


def peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


@dataclass
class Samples:
    """Readings taken after 1/4 and after all of the enrollments of one pass."""

    quarter: int = 0
    full: int = 0

    @property
    def growth(self) -> int:
        return self.full - self.quarter


def traced_bytes() -> int:
    """Python allocations still alive, after a full collection (so garbage awaiting a cycle does not count)."""
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"
