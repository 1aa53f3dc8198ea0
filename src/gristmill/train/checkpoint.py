"""Checkpoints that resume a run exactly, written atomically, loaded without unpickling code.

``RUN_DIR/ckpt/last.pt`` holds everything a resumed run needs to continue bit-for-bit: model,
optimizer and grad-scaler state, the step, the data position (the global micro-batch counter of
``data.WindowSampler``), and every RNG state (Python, NumPy, torch CPU and CUDA) of every rank.
``RUN_DIR/ckpt/best.pt`` holds the model with the lowest validation loss so far (weights, config
and metadata only: it is for sampling and export, not for resuming).

Files are written to a temporary name in the same directory, fsynced, then renamed over the old
one, so a run killed mid-write leaves the previous checkpoint intact. They hold only tensors and
plain containers, so they load with ``torch.load(weights_only=True)``: opening a checkpoint cannot
run code.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

FORMAT_VERSION = 1


def ckpt_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / "ckpt"


def atomic_save(obj: Any, path: Path) -> None:
    """torch.save to ``path`` via a temp file in the same directory and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def load(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint file (weights_only: tensors and plain containers only)."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no checkpoint at {p}")
    ckpt = torch.load(p, map_location=map_location, weights_only=True)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT_VERSION:
        raise ValueError(f"{p} is not a gristmill checkpoint (format {FORMAT_VERSION})")
    return ckpt


def resolve(path: str | Path, prefer: str = "best") -> Path:
    """A checkpoint file from a file path or a run directory (``prefer`` first, then the other)."""
    p = Path(path)
    if p.is_file():
        return p
    order = [prefer, "last" if prefer == "best" else "best"]
    for name in order:
        cand = ckpt_dir(p) / f"{name}.pt"
        if cand.exists():
            return cand
    raise FileNotFoundError(f"no checkpoint in {p} (looked for ckpt/{order[0]}.pt, ckpt/{order[1]}.pt)")


def rng_state() -> dict:
    """Every RNG this process draws from, as tensors and plain values (weights_only-safe)."""
    np_state = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": {
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def set_rng_state(state: dict) -> None:
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = state["numpy"]
    np.random.set_state(
        ("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
         n["cached_gaussian"])
    )
    torch.set_rng_state(state["torch"].cpu())
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
