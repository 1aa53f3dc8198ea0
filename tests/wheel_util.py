"""Build gristmill's wheel the way ``make wheel`` does, without touching the checkout.

``pip wheel`` builds in the source tree: setuptools leaves ``build/`` and ``*.egg-info``
there, and a stale ``build/lib`` can ship files since deleted from ``src/``. So the tests copy
the sources (what git tracks, plus new files it does not ignore) into a temporary directory
and build there, with the same command as the Makefile's ``wheel`` target.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Used only when the sources are not a git checkout (an unpacked archive).
_NOT_SOURCES = shutil.ignore_patterns(".git", ".venv*", "build", "dist", "data", "runs", "models", "out",
                                      "__pycache__", "*.egg-info", ".pytest_cache", ".ruff_cache", ".cache")


def _git_files(repo: Path) -> list[str] | None:
    """Tracked files and untracked files git does not ignore, or None outside a git checkout."""
    try:
        out = subprocess.run(["git", "-C", str(repo), "ls-files", "-co", "--exclude-standard", "-z"],
                             capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return [f for f in out.decode().split("\0") if f]


def copy_sources(repo: Path, dest: Path) -> Path:
    """Copy the project's sources to ``dest`` (symlinks stay symlinks) and return it."""
    files = _git_files(repo)
    if files is None:
        shutil.copytree(repo, dest, symlinks=True, ignore=_NOT_SOURCES)
        return dest
    for rel in files:
        src, dst = repo / rel, dest / rel
        if not src.is_symlink() and not src.exists():  # tracked but deleted in the work tree
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            os.symlink(os.readlink(src), dst)
        else:
            shutil.copy2(src, dst)
    return dest


def build_wheel(work: Path) -> Path:
    """Build ``gristmill-VERSION-py3-none-any.whl`` from a copy of the sources under ``work``."""
    tree = copy_sources(REPO, work / "src-tree")
    dist = work / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(dist), str(tree)],
                   check=True)
    wheels = sorted(dist.glob("gristmill-*-py3-none-any.whl"))
    assert len(wheels) == 1, f"expected one gristmill wheel, got {wheels}"
    return wheels[0]
