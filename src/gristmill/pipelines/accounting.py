"""What a run costs in memory: the peak RSS of its process tree, sampled from ``/proc``.

A local run is the runner process and, with ``--workers N``, N SDK worker processes it starts.
``resource.getrusage`` cannot give their sum: ``RUSAGE_CHILDREN`` reports the largest single
child that has already exited (``ru_maxrss`` is a maximum, not a total, and a worker still
running is not counted). So a background thread sums the resident set of the process and all
its descendants every ``interval`` seconds (``/proc/<pid>/task/*/children`` and ``statm``,
a few hundred microseconds a sample) and keeps the peak; the process's own ``ru_maxrss``
(exact, not sampled) is a floor under it. A spike shorter than the interval between two
samples in a worker can be missed: the figure is a sampled peak, as ``summary.json`` says.
Where ``/proc`` is missing (macOS), the peak is ``ru_maxrss`` of the process plus that of
its largest finished child, a lower bound (``method`` says which).

Plain Python: no Beam, importable anywhere.
"""

from __future__ import annotations

import contextlib
import os
import resource
import sys
import threading
from pathlib import Path

_PROC = Path("/proc")


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tasks = list((_PROC / str(pid) / "task").iterdir())
    except OSError:
        return out
    for task in tasks:
        with contextlib.suppress(OSError, ValueError):
            out.extend(int(c) for c in (task / "children").read_text().split())
    return out


def _rss(pid: int, page: int) -> int:
    try:
        return int((_PROC / str(pid) / "statm").read_text().split()[1]) * page
    except (OSError, ValueError, IndexError):
        return 0  # gone between listing and reading


def tree_rss(root: int | None = None) -> tuple[int, int]:
    """(summed RSS in bytes, number of processes) of ``root`` (default: this process) and
    all its descendants, now."""
    page = os.sysconf("SC_PAGE_SIZE")
    todo, seen, total = [root or os.getpid()], set(), 0
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += _rss(pid, page)
        todo.extend(_children(pid))
    return total, len(seen)


def _maxrss_bytes(who: int) -> int:
    kb = resource.getrusage(who).ru_maxrss
    return kb if sys.platform == "darwin" else kb * 1024  # bytes on macOS, KiB on Linux


class PeakRss:
    """Context manager: the peak RSS of this process tree while the block runs.

    ``peak_bytes`` is the sampled peak (at least the process's own ``ru_maxrss``),
    ``peak_processes`` the number of processes at that sample, ``method`` how it was measured.
    """

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.peak_bytes = 0
        self.peak_processes = 0
        self.samples = 0
        self.sampled = (_PROC / str(os.getpid()) / "task").is_dir()
        self.method = ("sampled /proc process tree" if self.sampled
                       else "getrusage: self + largest child (lower bound)")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gristmill-peak-rss", daemon=True)

    def sample(self) -> None:
        total, n = tree_rss()
        self.samples += 1
        if total > self.peak_bytes:
            self.peak_bytes, self.peak_processes = total, n

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRss:
        if self.sampled:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.sampled:
            self._stop.set()
            self._thread.join()
            self.sample()
            self.peak_bytes = max(self.peak_bytes, _maxrss_bytes(resource.RUSAGE_SELF))
        else:
            self.peak_bytes = _maxrss_bytes(resource.RUSAGE_SELF) + _maxrss_bytes(resource.RUSAGE_CHILDREN)
