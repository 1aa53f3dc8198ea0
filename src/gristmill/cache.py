"""gristmill's cache directory: fetched registry packages and the models built from them.

One root for everything gristmill downloads or builds, so a user has one place to look and
one variable to move it: ``$GRISTMILL_CACHE``, else ``$XDG_CACHE_HOME/gristmill`` (the XDG
base-directory convention, which ignores a relative ``XDG_CACHE_HOME``), else
``~/.cache/gristmill``. Inside it: ``packages/`` (pinned PyPI files, ``data.fetch``) and
``models/`` (lid.176 and the built-in fastText classifiers, ``classify.builtin``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


def cache_root() -> Path:
    """The cache root, read from the environment at each call (tests and users may change it)."""
    own = os.environ.get("GRISTMILL_CACHE")
    if own:
        return Path(own).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "gristmill"
    return Path.home() / ".cache" / "gristmill"


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) until the block ends.

    ``flock`` rather than an ``O_EXCL`` lock file: the kernel releases it when the holder
    dies, so a killed build never leaves a stale lock behind. Where ``fcntl`` does not exist
    (Windows) the block runs unlocked; callers must stay correct without it (they build under
    a temporary name and rename), the lock only saves duplicate work.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
