"""A service process keeps at most two malloc arenas, however many threads allocate at once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Sixteen threads allocate and free at the same moment (a barrier), then glibc's malloc_info says how many arenas
# (<heap nr=...>) the allocator keeps. Run in a fresh process: arenas made before the cap would stay.
PROBE = """
import ctypes, re, sys, threading
if sys.argv[1] == "capped":
    from api.malloc_arenas import limit_malloc_arenas
    assert limit_malloc_arenas()
if sys.argv[1] == "app":  # as a service worker starts: the app factory, on a fresh SQLite file
    from api.app import create_app
    create_app()
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
together = threading.Barrier(16)
def allocate():
    together.wait()
    blocks = [libc.malloc(4096) for _ in range(2000)]
    for block in blocks:
        libc.free(block)
threads = [threading.Thread(target=allocate) for _ in range(16)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
out = libc.fopen(sys.argv[2].encode(), b"w")
libc.malloc_info(0, out)
libc.fclose(out)
print(len(re.findall(r"<heap nr=", open(sys.argv[2]).read())))
"""


def _arenas(tmp_path: Path, how: str) -> int:
    env = {"PYTHONPATH": str(ROOT), "PORTALFLOW_HOME": str(tmp_path),
           "PORTALFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'portalflow.db'}"}
    done = subprocess.run([sys.executable, "-c", PROBE, how, str(tmp_path / f"{how}.xml")], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return int(done.stdout.strip().splitlines()[-1])


def test_sixteen_threads_allocating_at_once_share_two_arenas_once_capped_and_make_more_without_the_cap(
        tmp_path: Path) -> None:
    assert _arenas(tmp_path, "capped") <= 2
    assert _arenas(tmp_path, "uncapped") > 2


def test_a_service_worker_caps_its_arenas_when_the_app_is_made(tmp_path: Path) -> None:
    assert _arenas(tmp_path, "app") <= 2
