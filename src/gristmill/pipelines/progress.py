"""Progress of a running Beam pipeline: counts per stage, reported while the runner works.

Why files and not Beam's metrics: the local ``FnApiRunner`` runs the whole pipeline inside
``p.run()``, and with ``--workers > 1`` in separate SDK worker processes whose metrics reach the
driver only when the run ends; no runner API gives live counts for it. So:

1. stages call :func:`count` for what they handle (a dict increment: about a microsecond);
2. each process keeps one tally, and a daemon thread writes it, when it changed, to its own
   file ``<run>/_tmp/progress/<host>-<pid>-<random>.json`` (at most every ``FLUSH_S``
   seconds, replaced atomically; again at process exit), so a file holds one process's
   totals and is never read half-written;
3. the driver's :class:`Reporter` thread sums the files and logs one plain line every
   ``every`` seconds, or drives a bar on a terminal; the final line (exact totals) is logged
   when the run ends, and the files go with the scratch directory.

Workers find the directory through ``GRISTMILL_PROGRESS_DIR``, set by the driver for the
duration of the run: in-process workers read it, and the local runner's worker subprocesses
inherit it. Workers on a cluster do not see it, so :func:`count` does nothing there and the
driver reports elapsed time only (the runner's own UI shows its stages). Counts are of work
done, so a bundle a runner retries is counted again; the summary, not this, is the record.
A process reports one run at a time (the variable and the tally are per process).
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import json
import logging
import os
import shutil
import socket
import sys
import threading
import time
import uuid
from typing import Any

log = logging.getLogger("gristmill")

ENV_DIR = "GRISTMILL_PROGRESS_DIR"
DEFAULT_EVERY = 10.0  # seconds between plain progress lines (a bar on a terminal refreshes faster)
FLUSH_S = 0.5  # how often a process writes its tally, when it changed
BAR_REFRESH_S = 0.5
_BAR_FORMAT = "{desc}: {n_fmt} [{elapsed}, {rate_fmt}{postfix}]"
_BAR_FORMAT_TOTAL = "{desc}: {percentage:3.0f}%|{bar:24}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]"

# Stage keys in pipeline order, with the words a progress line uses for them. Hooks count
# under these keys; a key not listed here is still shown, by its own name, at the end.
LABELS: dict[str, str] = {
    "ids": "ids scanned",  # ParseRecords' first read: (id, origin) only, to find repeated ids
    "read": "read",  # records of the second read, each parsed or an error
    "parsed": "parsed",  # documents out of parsing (the rest are errors)
    "filtered": "passed filters",
    "dedup.spill": "dedup spilled",
    "dedup.bands": "dedup banded",
    "dedup.verify": "dedup pairs checked",
    "dedup.decide": "dedup decided",
    "written.kept": "written kept",
    "written.rejected": "written rejected",
    "written.errors": "written errors",
    "tokenize.documents": "tokenized documents",
    "tokenize.tokens": "tokens",
    "tokenize.shards": "shards written",
}


# ---------------------------------------------------------------- worker side


class _Tally:
    """One process's counts, written to its own file by a daemon thread.

    Each thread counts into its own dict (Beam may run bundles on several threads): no lock
    on the hot path and no lost update; a flush sums copies of the dicts (copying a dict is
    atomic under the GIL)."""

    def __init__(self, directory: str) -> None:
        self.path = os.path.join(directory, f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}.json")
        self.local = threading.local()
        self.per_thread: list[dict[str, int]] = []
        self.lock = threading.Lock()  # guards per_thread, written, closed; orders the writes
        self.written: dict[str, int] = {}
        self.closed = False
        self.stopping = threading.Event()
        threading.Thread(target=self._loop, name="gristmill-progress-flush", daemon=True).start()
        atexit.register(self.flush)  # a worker subprocess's last counts, when the runner stops it

    def add(self, stage: str, n: int) -> None:
        try:
            counts = self.local.counts
        except AttributeError:  # this thread's first count
            counts = self.local.counts = {}
            with self.lock:
                self.per_thread.append(counts)
        counts[stage] = counts.get(stage, 0) + n

    def _loop(self) -> None:
        while not self.stopping.wait(FLUSH_S):
            self.flush()

    def flush(self) -> None:
        """Write the counts if they changed. Never raises: progress must not fail a run."""
        with self.lock:
            total: dict[str, int] = {}
            for counts in self.per_thread:
                for k, v in dict(counts).items():
                    total[k] = total.get(k, 0) + v
            if total == self.written or self.closed:
                return
            tmp = f"{self.path}.tmp"
            try:
                with open(tmp, "w", encoding="utf-8") as f:
                    json.dump({"counts": total}, f)
                os.replace(tmp, self.path)
                self.written = total
            except OSError:  # the run's scratch directory is gone (the run ended)
                pass

    def close(self) -> None:
        self.stopping.set()
        self.flush()
        with self.lock:
            self.closed = True
        atexit.unregister(self.flush)


_UNSET: Any = object()
_tally: _Tally | None = _UNSET


def count(stage: str, n: int = 1) -> None:
    """Add ``n`` to this process's count for ``stage`` (a key of ``LABELS``). Cheap, and a
    no-op when no progress directory is set (a cluster worker, a run with progress off)."""
    global _tally
    t = _tally
    if t is None:
        return
    if t is _UNSET:
        directory = os.environ.get(ENV_DIR)
        t = _tally = _Tally(directory) if directory and os.path.isdir(directory) else None
        if t is None:
            return
    t.add(stage, n)


def _reset_tally() -> None:
    """Close this process's tally (its last counts written) and forget it: the next
    :func:`count` looks at the environment again (a new run in the same process)."""
    global _tally
    if isinstance(_tally, _Tally):
        _tally.close()
    _tally = _UNSET


def read_counts(directory: str) -> dict[str, int]:
    """The sum of every process's counts in ``directory``."""
    total: dict[str, int] = {}
    for path in glob.glob(os.path.join(directory, "*.json")):
        try:
            with open(path, encoding="utf-8") as f:
                counts = json.load(f)["counts"]
        except (OSError, ValueError, KeyError):
            continue
        for k, v in counts.items():
            total[k] = total.get(k, 0) + int(v)
    return total


# ---------------------------------------------------------------- driver side


def clock(seconds: float) -> str:
    """Elapsed time as ``12.3 s`` under a minute, else ``m:ss`` or ``h:mm:ss``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _ordered(counts: dict[str, int]) -> list[str]:
    known = [k for k in LABELS if k in counts]
    return known + sorted(k for k in counts if k not in LABELS)


def describe(counts: dict[str, int], main: str | None = None, total_key: str | None = None) -> str:
    """``read 5,000 of 24,000 (21%) · parsed 4,990 · ...``: every stage with a count, in
    pipeline order. ``main`` gets ``of N (p%)`` once ``total_key`` has its final count (the
    pass that counts it ends before ``main`` starts: ``ids`` before ``read``)."""
    parts = []
    for key in _ordered(counts):
        text = f"{LABELS.get(key, key)} {counts[key]:,}"
        total = counts.get(total_key or "", 0)
        if key == main and total:
            text += f" of {total:,} ({counts[key] / total:.0%})"
        parts.append(text)
    return " · ".join(parts) if parts else "running"


class Reporter:
    """Reports one command's progress (see the module docstring); use :func:`report`.

    ``main`` is the stage a terminal bar follows, with ``total_key``'s count as its total
    once known. ``final`` holds the exact counts after the run (for tests and callers).
    """

    def __init__(self, command: str, directory: str | None, every: float,
                 main: str | None = None, total_key: str | None = None, bar: bool | None = None) -> None:
        self.command, self.every, self.main, self.total_key = command, every, main, total_key
        self.directory = None if directory is None or "://" in directory else directory
        self.bar_wanted = sys.stderr.isatty() if bar is None else bar
        self.final: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._bar: Any = None
        self._stack = contextlib.ExitStack()
        self._env_before: str | None = None
        self._last: dict[str, int] = {}
        self._now: str | None = None

    def start(self) -> None:
        self.t0 = time.perf_counter()
        if self.directory is not None:
            os.makedirs(self.directory, exist_ok=True)
            self._env_before = os.environ.get(ENV_DIR)
            os.environ[ENV_DIR] = self.directory
            _reset_tally()
        if self.bar_wanted:
            from tqdm.auto import tqdm
            from tqdm.contrib.logging import logging_redirect_tqdm

            # Log records go above the bar instead of through it (the loggers that print).
            printing = [lg for lg in (logging.getLogger(), log)
                        if any(type(h) is logging.StreamHandler for h in lg.handlers)]
            self._stack.enter_context(logging_redirect_tqdm(printing))
            self._bar = self._stack.enter_context(tqdm(desc=self.command, unit=" docs", bar_format=_BAR_FORMAT))
        self._thread = threading.Thread(target=self._loop, name="gristmill-progress", daemon=True)
        self._thread.start()

    def counts(self) -> dict[str, int]:
        return read_counts(self.directory) if self.directory is not None else {}

    def _loop(self) -> None:
        period = BAR_REFRESH_S if self._bar is not None else self.every
        while not self._stop.wait(period):
            try:
                self._show(self.counts())
            except Exception as e:  # progress must never fail a run
                log.debug("progress report failed: %r", e)

    def _active(self, counts: dict[str, int]) -> str | None:
        """The earliest stage (in pipeline order) whose count rose since the last report: of
        the stages running together, the one the others wait for."""
        rose = [k for k in _ordered(counts) if counts[k] > self._last.get(k, 0)]
        self._last = counts
        return rose[0] if rose else None

    def _show(self, counts: dict[str, int]) -> None:
        """One plain line, or the bar brought up to date."""
        elapsed = clock(time.perf_counter() - self.t0)
        active = self._active(counts)
        if self._bar is None:
            now = f", now {LABELS.get(active, active)}" if active else ""
            log.info("%s %s%s: %s", self.command, elapsed, now, describe(counts, self.main, self.total_key))
            return
        # The bar follows ``main`` (out of ``total_key`` once known); the stage at work, with
        # its count, goes beside it.
        self._now = active or self._now
        total = counts.get(self.total_key or "") if counts.get(self.main or "") else None
        if total and self._bar.total != total:
            self._bar.total, self._bar.bar_format = total, _BAR_FORMAT_TOTAL
        self._bar.update(counts.get(self.main or "", 0) - self._bar.n)
        now = f"now: {LABELS.get(self._now, self._now)} {counts[self._now]:,}" if self._now else ""
        self._bar.set_postfix_str(now, refresh=False)
        self._bar.refresh()

    def stop(self, ok: bool) -> None:
        """End the thread, log the exact totals (when the run succeeded) and clean up."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            if self.directory is not None:
                _reset_tally()  # this process's last counts (in-process runners)
                self.final = self.counts()
            if self._bar is not None:
                self._show(self.final)
            self._stack.close()
            if ok:
                log.info("%s done in %s: %s", self.command, clock(time.perf_counter() - self.t0),
                         describe(self.final))
        finally:
            if self.directory is not None:
                if self._env_before is None:
                    os.environ.pop(ENV_DIR, None)
                else:
                    os.environ[ENV_DIR] = self._env_before
                _reset_tally()
                shutil.rmtree(self.directory, ignore_errors=True)


@contextlib.contextmanager
def report(command: str, directory: str | None, every: float = DEFAULT_EVERY, main: str | None = None,
           total_key: str | None = None, bar: bool | None = None):
    """Report progress while the body runs (the pipeline's ``p.run()``).

    ``directory``: a fresh local scratch directory for the count files (removed at the end);
    None or a remote path reports elapsed time only. ``every``: seconds between plain lines;
    0 or less, or a ``gristmill`` logger above INFO (``-q``), turns reporting off. ``bar``:
    a bar instead of plain lines (default: when stderr is a terminal).
    """
    if every <= 0 or not log.isEnabledFor(logging.INFO):
        yield Reporter(command, None, every, bar=False)
        return
    r = Reporter(command, directory, every, main, total_key, bar)
    r.start()
    ok = False
    try:
        yield r
        ok = True
    finally:
        r.stop(ok)
