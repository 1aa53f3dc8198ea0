"""glibc heap settings for a local run: give freed memory back to the system.

A local run's processes (the runner and its SDK workers) are multi-threaded Python: gRPC's
threads, the bundle threads, the progress and memory samplers. glibc's malloc gives busy
threads arenas of their own (up to 8 per core) and keeps what is freed in each for reuse, so
a worker that once held a large buffer (a bundle's records, a merge's row groups, a shard's
ids) keeps that memory after freeing it: on the 1M-document benchmark, 120-265 MB of free heap
per worker (``mallinfo2``'s ``fordblks``) from dedup's banding on; 20-50 MB with these
settings, at no measurable cost in time (100k documents: 209 and 211 s against 209 and 205 s
without; ``benchmarks/RESULTS.md``, "Memory as the corpus grows", fifth round).

``tune_heap`` sets three documented glibc options, for this process (``mallopt``) and, through
the environment, for the worker processes the runner starts (they read them at start):

- ``MALLOC_ARENA_MAX=2``: two arenas, not sixteen, so free memory is shared, not stranded;
- ``MALLOC_TRIM_THRESHOLD_`` 128 KiB (the default's starting value, which glibc otherwise
  raises as large blocks are freed): free memory at the top of a heap goes back at once;
- ``MALLOC_MMAP_THRESHOLD_`` 1 MiB (fixed; glibc otherwise raises it to up to 32 MiB):
  blocks of 1 MiB or more are mapped on their own and unmapped when freed.

A user's own setting of any of them wins (it is left alone). ``trim_heap`` returns what is
still free inside the heaps (``malloc_trim``), called where a stage drops a large working set.
On other C libraries (musl, macOS) both are no-ops. Plain Python: no Beam.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from functools import cache

# mallopt parameter numbers (glibc malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8
SETTINGS = {  # environment variable -> (mallopt parameter, value)
    "MALLOC_ARENA_MAX": (_M_ARENA_MAX, 2),
    "MALLOC_TRIM_THRESHOLD_": (_M_TRIM_THRESHOLD, 128 << 10),
    "MALLOC_MMAP_THRESHOLD_": (_M_MMAP_THRESHOLD, 1 << 20),
}


@cache
def _glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc (it has ``malloc_trim``), else None."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        libc.malloc_trim  # noqa: B018  (glibc only)
        libc.mallopt  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def tune_heap() -> dict[str, str]:
    """Apply ``SETTINGS`` to this process and to the processes it starts; returns the
    settings in force (the user's where set)."""
    libc = _glibc()
    if libc is None:
        return {}
    for var, (param, value) in SETTINGS.items():
        if var not in os.environ:
            os.environ[var] = str(value)
            libc.mallopt(param, value)
    return {var: os.environ[var] for var in SETTINGS}


def trim_heap() -> None:
    """Give the free memory inside glibc's heaps back to the system (a few ms)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
