"""Where a bench puts its database files: a folder on the disk and one on tmpfs, each named with its filesystem.

The same commit costs an fsync on the disk and almost nothing on tmpfs, so `python -m bench` measures both: the
disk figure is what a practice's server pays, the tmpfs one is the engine's own cost with the flush taken away.
The disk folder goes under the repository's `var/` (not the system's temp folder, which is tmpfs on some
machines); the tmpfs one under /dev/shm, when that is a tmpfs.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHM = Path("/dev/shm")


@dataclass(frozen=True)
class Place:
    label: str  # "disk" or "tmpfs"
    parent: Path
    filesystem: str


def filesystem(path: Path) -> str:
    """The filesystem type holding `path` (ext4, tmpfs, overlay...), or "unknown" without findmnt."""
    try:
        found = subprocess.run(["findmnt", "-no", "FSTYPE", "-T", str(path)], capture_output=True, text=True,
                               check=True, timeout=10).stdout.split()
        return found[-1] if found else "unknown"  # a mount over a mount lists both: the last one is what is seen
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def places(wanted: list[str], disk_dir: str | None = None) -> tuple[list[Place], list[str]]:
    """The places asked for that exist here, and a note for each one that does not (skipped, not faked)."""
    found: list[Place] = []
    notes: list[str] = []
    for label in wanted:
        if label == "disk":
            parent = Path(disk_dir) if disk_dir else ROOT / "var" / "bench"
            parent.mkdir(parents=True, exist_ok=True)
            kind = filesystem(parent)
            if kind == "tmpfs":
                notes.append(f"the disk folder {parent} is on tmpfs: its figures are not a disk's")
            found.append(Place("disk", parent, kind))
        elif label == "tmpfs":
            kind = filesystem(SHM) if SHM.is_dir() else "missing"
            if kind == "tmpfs":
                found.append(Place("tmpfs", SHM, kind))
            else:
                notes.append(f"no tmpfs pass: {SHM} is {kind}")
    return found, notes


def scratch(place: Place, prefix: str) -> tempfile.TemporaryDirectory[str]:
    """A temporary folder in `place`, removed afterwards."""
    return tempfile.TemporaryDirectory(prefix=prefix, dir=place.parent)


def flush_us(folder: Path, count: int = 100) -> float:
    """Median microseconds of one 4 KiB append and its fdatasync in `folder`: what one durable commit (a WAL frame
    synced, as synchronous=FULL asks) cannot go below there, whatever the engine does."""
    path = folder / "flush-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        times = []
        for _ in range(count):
            began = time.perf_counter()
            os.write(fd, b"\0" * 4096)
            os.fdatasync(fd)
            times.append(time.perf_counter() - began)
    finally:
        os.close(fd)
        path.unlink()
    return 1e6 * statistics.median(times)
