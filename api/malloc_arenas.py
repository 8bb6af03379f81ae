"""How many malloc arenas the C allocator of a service process may keep (glibc; elsewhere nothing changes).

glibc gives each thread that allocates while another does its own arena, up to 8 per CPU, and keeps what is freed
in the arena that freed it. A worker serves requests from up to 40 threads: SQLite's page caches and statements,
Argon2's blocks and Python's own objects ended spread over ~16 arenas of 3-9 MiB each, so a worker serving the
million-enrollment file grew from 136 to 187 MiB over ten minutes (bench.reads --soak). With two arenas, what one
thread frees another reuses. This is `MALLOC_ARENA_MAX=2` set from inside, so that it holds however the service
is started; written by hand (a `mallopt` call through ctypes) because no maintained package wraps it.
"""

from __future__ import annotations

import ctypes

M_ARENA_MAX = -8  # glibc's malloc.h
SERVICE_ARENAS = 2


def limit_malloc_arenas(arenas: int = SERVICE_ARENAS) -> bool:
    """Cap the arenas of this process's allocator; True if the C library took it (glibc), False elsewhere. Call it
    before the process starts its threads: arenas already made stay."""
    libc = ctypes.CDLL(None)  # the C library this process already runs on
    if not hasattr(libc, "gnu_get_libc_version"):  # musl, macOS: no arenas to cap
        return False
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(libc.mallopt(M_ARENA_MAX, arenas))
