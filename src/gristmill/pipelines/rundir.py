"""A run directory is gristmill's own: a marker says so, a lock keeps one writer, and
replacing an old run is crash-safe.

Plain Python (no Beam), so every rule is testable on its own. The rules:

- **Marker.** A run writes ``.gristmill-run`` (JSON: gristmill's version, the config hash)
  into ``<output>.partial`` before anything else; the finished run carries it. ``--overwrite``
  replaces only a directory with the marker, or an empty one. A ``.partial`` left by a crash
  is removed only when it carries the marker too.
- **Places never written.** The working directory, the home directory, ``/``, an ancestor of
  an input, a path inside an input directory, and an output that holds an input are refused
  as ``--output`` whatever the flags, each naming the rule it applied.
- **One writer.** ``<output>.lock`` is created with ``O_EXCL`` and holds host, pid and the
  process's start time. A second run on the same output fails with a message naming the
  holder; a lock whose process is gone on this host is stale and is taken over with a warning.
- **Crash-safe replacement.** The new run is swapped with the old one in one atomic step
  (Linux ``renameat2(RENAME_EXCHANGE)``), then the old one is deleted: a kill at any moment
  leaves one complete run at ``--output``. Where the exchange is not supported, the old run is
  renamed aside to ``<output>.replaced`` first and the next run puts back whichever complete
  run a crash left between the two renames (``recover``).

Remote outputs (``gs://`` ...) are written in place: object stores have no atomic directory
rename; there the marker rule still guards ``--overwrite``.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import logging
import os
import shutil
import signal
import socket
from collections.abc import Iterable, Iterator
from pathlib import Path

from gristmill.errors import UserError

log = logging.getLogger("gristmill")

MARKER = ".gristmill-run"
PARTIAL_SUFFIX = ".partial"
REPLACED_SUFFIX = ".replaced"
LOCK_SUFFIX = ".lock"
# Tests set this to a step name to SIGKILL the process there (the kill test's hook).
KILL_AT_ENV = "GRISTMILL_TEST_KILL_AT"
# Tests set this to force the rename-aside path where RENAME_EXCHANGE exists.
NO_EXCHANGE_ENV = "GRISTMILL_TEST_NO_EXCHANGE"


class UnsafeOutput(UserError):
    """``--output`` names a place gristmill must not write or replace."""


class OutputLocked(UserError):
    """Another live run holds the output's lock."""


def _kill_point(step: str) -> None:
    """Die here, as a power cut would, when a test asks for it (no effect otherwise)."""
    if os.environ.get(KILL_AT_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


# ---------------------------------------------------------------------------------------------
# Where a run may write

def _real(p: str | os.PathLike) -> Path:
    return Path(os.path.realpath(os.path.expanduser(os.fspath(p))))


def _input_roots(inputs: Iterable[str]) -> list[tuple[Path, bool]]:
    """(path, is_tree) for each local input: a directory is a tree read recursively, a file or
    a plain glob is its matched files, a ``**`` glob is the tree of its fixed prefix."""
    import glob

    roots: list[tuple[Path, bool]] = []
    for inp in inputs:
        if "://" in inp:
            continue
        if any(c in inp for c in "*?["):
            if "**" in inp:
                fixed = inp.split("**", 1)[0] or "."
                roots.append((_real(fixed), True))
            roots.extend((_real(m), os.path.isdir(m)) for m in glob.glob(inp))
        else:
            roots.append((_real(inp), os.path.isdir(inp)))
    return roots


def check_output_location(output: str, inputs: Iterable[str]) -> None:
    """Refuse an ``--output`` that a run (or its ``--overwrite``) could harm, naming the rule."""
    if "://" in output:
        return
    out = _real(output)
    forbidden = {
        _real("."): "the working directory",
        _real("~"): "the home directory",
        Path("/"): "the filesystem root",
    }
    if out in forbidden:
        raise UnsafeOutput(f"--output {output} is {forbidden[out]}; give a new directory for the run")
    for root, is_tree in _input_roots(inputs):
        if out == root:
            raise UnsafeOutput(f"--output {output} is the input {root}; give a separate directory")
        if root.is_relative_to(out):
            raise UnsafeOutput(f"--output {output} holds the input {root}; a run there could "
                               "delete it and would read its own output back")
        if is_tree and out.is_relative_to(root):
            raise UnsafeOutput(f"--output {output} is inside the input directory {root}; the next "
                               "run would read this run's output as input")
    for suffix in (PARTIAL_SUFFIX, REPLACED_SUFFIX, LOCK_SUFFIX):
        side = Path(str(out) + suffix)
        for root, _ in _input_roots(inputs):
            if root == side or root.is_relative_to(side):
                raise UnsafeOutput(f"the run's scratch path {side} holds the input {root}")


def is_run_dir(path: str | os.PathLike) -> bool:
    """A directory gristmill created: it carries the marker."""
    return os.path.isfile(os.path.join(os.fspath(path), MARKER))


def _is_empty_dir(path: str) -> bool:
    return os.path.isdir(path) and not os.listdir(path)


def check_replaceable(output: str, overwrite: bool) -> None:
    """An existing output may be replaced only with ``--overwrite``, and only if gristmill
    made it (the marker; or it sits in a run directory, as ``RUN_DIR/shards`` does) or it is
    empty."""
    if os.path.lexists(output) and not os.path.isdir(output):
        raise UnsafeOutput(f"--output {output} is a file, not a directory; give a directory path")
    if not os.path.exists(output):
        return
    if not overwrite:
        raise FileExistsError(f"output directory {output} exists; pass --overwrite to replace it")
    if not (is_run_dir(output) or _is_empty_dir(output) or is_run_dir(os.path.dirname(os.path.abspath(output)))):
        raise UnsafeOutput(f"--overwrite refused: {output} is not empty and has no {MARKER} "
                           "marker, so gristmill did not create it; give a new --output or "
                           "remove it yourself")


def write_marker(run_dir: str, info: dict) -> None:
    """The marker that makes ``run_dir`` gristmill's (deterministic: no time, no host)."""
    path = os.path.join(run_dir, MARKER)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(info, f, sort_keys=True)
        f.write("\n")
    os.replace(path + ".tmp", path)


# ---------------------------------------------------------------------------------------------
# One writer per output

def _proc_start(pid: int) -> str | None:
    """The start time of ``pid`` in clock ticks (Linux), so a reused pid is not mistaken for
    the holder; None where /proc is not there."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _alive(pid: int, start: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    now = _proc_start(pid)
    return start is None or now is None or now == start


def _read_lock(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


@contextlib.contextmanager
def output_lock(output: str) -> Iterator[None]:
    """Hold ``<output>.lock`` for the duration of a run (created with O_EXCL)."""
    path = output + LOCK_SUFFIX
    me = {"host": socket.gethostname(), "pid": os.getpid(), "start": _proc_start(os.getpid())}
    for _attempt in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            _take_over_if_stale(path)
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(me, f)
        break
    else:
        raise OutputLocked(f"could not take the lock {path}; another run is starting on {output}")
    try:
        yield
    finally:
        if _read_lock(path).get("pid") == me["pid"]:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)


def _take_over_if_stale(path: str) -> None:
    holder = _read_lock(path)
    host, pid = holder.get("host"), holder.get("pid")
    if host == socket.gethostname() and isinstance(pid, int) and not _alive(pid, holder.get("start")):
        log.warning("taking over the stale lock %s (process %s on %s is gone)", path, pid, host)
        # Rename before deleting: of two runs taking over at once, only one wins the rename.
        with contextlib.suppress(FileNotFoundError):
            os.rename(path, f"{path}.stale.{os.getpid()}")
            os.unlink(f"{path}.stale.{os.getpid()}")
        return
    if not holder:
        raise OutputLocked(f"{path} exists but cannot be read; if no run is writing there, delete it")
    where = f"process {pid} on {host}"
    raise OutputLocked(f"another run ({where}) is writing this output (lock {path}); wait for it, "
                       f"or delete the lock if that run is gone")


# ---------------------------------------------------------------------------------------------
# Start, finish and recover a run

def start_partial(output: str, info: dict) -> str:
    """A fresh ``<output>.partial`` carrying the marker; removes one a crash left behind."""
    work = output + PARTIAL_SUFFIX
    if os.path.lexists(work):
        if not (is_run_dir(work) or _is_empty_dir(work)):
            raise UnsafeOutput(f"{work} exists and has no {MARKER} marker, so gristmill did not "
                               "create it; move it away first")
        log.warning("removing %s left by an interrupted run", work)
        shutil.rmtree(work)
    os.makedirs(work)
    write_marker(work, info)
    return work


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: str, b: str) -> bool:
    """Swap two paths atomically (Linux renameat2); False where that is not supported."""
    if os.environ.get(NO_EXCHANGE_ENV):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), a)


def finish(work: str, output: str) -> None:
    """Put the complete run in ``work`` at ``output``, replacing what is there, crash-safely."""
    _kill_point("before-replace")
    if not os.path.exists(output):
        os.rename(work, output)
        _kill_point("after-replace")
        return
    if _exchange(work, output):
        _kill_point("after-exchange")
        shutil.rmtree(work)  # the old run now sits at the .partial path
        _kill_point("after-replace")
        return
    aside = output + REPLACED_SUFFIX
    if os.path.lexists(aside):
        shutil.rmtree(aside)
    os.rename(output, aside)
    _kill_point("after-aside")
    os.rename(work, output)
    _kill_point("after-rename")
    shutil.rmtree(aside)
    _kill_point("after-replace")


@contextlib.contextmanager
def new_run_dir(output: str, inputs: Iterable[str], overwrite: bool, info: dict,
                complete_file: str = "summary.json") -> Iterator[str]:
    """The whole life of a local output directory: check where it is, take the lock, put
    back what a crash left, check it may be replaced, then yield a fresh ``.partial`` to
    write into; on success swap it in. ``complete_file`` is written last by a finished run."""
    check_output_location(output, inputs)
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    with output_lock(output):
        recover(output, complete_file)
        check_replaceable(output, overwrite)
        work = start_partial(output, info)
        yield work
        finish(work, output)


def recover(output: str, complete_file: str = "summary.json") -> None:
    """Undo what a crash between ``finish``'s two renames left: no output, the old run aside.

    The new run is complete when its ``complete_file`` exists (written last); it is put in
    place, else the old one is put back.
    """
    aside = output + REPLACED_SUFFIX
    if not is_run_dir(aside):
        return
    if os.path.exists(output):
        log.warning("removing %s, a replaced run left by an interrupted --overwrite", aside)
        shutil.rmtree(aside)
        return
    work = output + PARTIAL_SUFFIX
    if is_run_dir(work) and os.path.isfile(os.path.join(work, complete_file)):
        log.warning("completing an interrupted --overwrite: %s -> %s", work, output)
        os.rename(work, output)
        shutil.rmtree(aside)
    else:
        log.warning("restoring %s, replaced by a run that did not finish", output)
        os.rename(aside, output)
