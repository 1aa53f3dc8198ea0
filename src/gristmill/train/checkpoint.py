"""Checkpoints that resume a run exactly, written atomically, loaded without unpickling code.

``RUN_DIR/ckpt/last.pt`` holds everything a resumed run needs to continue bit-for-bit: model,
optimizer and grad-scaler state, the step, the data position (the global micro-batch counter of
``data.WindowSampler``), and every RNG state (Python, NumPy, torch CPU and CUDA) of every rank.
``RUN_DIR/ckpt/best.pt`` holds the model with the lowest validation loss so far (weights, config
and metadata only: it is for sampling and export, not for resuming).

Files are written to a temporary name in the same directory, fsynced, then renamed over the old
one, so a run killed mid-write leaves the previous checkpoint intact (its temporary file is
removed by the next run: ``remove_partial_writes``). They hold only tensors and plain
containers, so they load with ``torch.load(weights_only=True)``: opening a checkpoint cannot run
code. The settings are stored as plain dicts (``GPTConfig.to_dict()``), so any checkpoint whose
dicts have the same keys loads, whatever class wrote it.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from gristmill.errors import UserError, one_line

FORMAT_VERSION = 1
# What ckpt/last.pt must hold to resume from it (best.pt lacks the optimizer and RNG states).
RESUME_KEYS = ("model", "optimizer", "scaler", "step", "best_val_loss", "rng", "config", "data")


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


@dataclass(frozen=True)
class RunInfo:
    """What every checkpoint of a run holds besides the weights: fixed for the whole run."""

    config: dict  # {"model": GPTConfig.to_dict(), "train": TrainConfig.to_dict()}
    fingerprint: dict  # trainer.data_fingerprint: what a resume must find unchanged
    world_size: int
    grad_accum: int
    meta: dict  # tokenizer, eos_id, and init_from when the run started from a HF model


def save_last(run_dir: Path, info: RunInfo, model: torch.nn.Module,
              optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler, step: int,
              best_val_loss: float, rngs: list[dict]) -> None:
    """Write ``ckpt/last.pt``: everything a resumed run needs to continue bit-for-bit.
    ``rngs`` holds every rank's RNG states (``gather_rng_states``); the data position is the
    global micro-batch counter after ``step``. Rank 0 alone calls this."""
    atomic_save({
        "format": FORMAT_VERSION, "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scaler": scaler.state_dict() if scaler.is_enabled() else {},
        "step": step, "best_val_loss": best_val_loss, "rng": rngs,
        "config": info.config,
        "data": {"micro_batches": step * info.grad_accum * info.world_size,
                 "world_size": info.world_size, "fingerprint": info.fingerprint},
        **info.meta,
    }, ckpt_dir(run_dir) / "last.pt")


def save_best(run_dir: Path, info: RunInfo, model: torch.nn.Module, step: int,
              val_loss: float) -> None:
    """Write ``ckpt/best.pt``: the weights with the lowest validation loss so far, for
    sampling and export (no optimizer or RNG state). Rank 0 alone calls this."""
    atomic_save({
        "format": FORMAT_VERSION, "model": model.state_dict(), "step": step,
        "val_loss": val_loss, "config": info.config, **info.meta,
    }, ckpt_dir(run_dir) / "best.pt")


def remove_partial_writes(run_dir: Path) -> None:
    """Delete the temporary files of checkpoint writes that were killed (``.last.pt.tmp<pid>``):
    gristmill's own, never a finished checkpoint."""
    for stale in ckpt_dir(run_dir).glob(".*.tmp*"):
        stale.unlink()


def gather_rng_states(world_size: int) -> list[dict]:
    """Every rank's RNG states, in rank order. Under DDP this is a collective: every rank calls
    it, at the same step."""
    if world_size == 1:
        return [rng_state()]
    states: list[Any] = [None] * world_size
    dist.all_gather_object(states, rng_state())
    return states


class CheckpointError(UserError, ValueError):
    """A file given as a checkpoint that is not one: truncated, garbage, or not ours."""


def load(path: str | Path, map_location: str | torch.device = "cpu",
         require: tuple[str, ...] = ("model", "config")) -> dict:
    """Load a checkpoint file (weights_only: tensors and plain containers only).

    Anything torch cannot load (a truncated file, random bytes, a pickle that needs code) or a
    dict without the ``require``d keys is a ``CheckpointError`` naming the file, not a
    traceback from deep inside torch."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no checkpoint at {p}")
    try:
        ckpt = torch.load(p, map_location=map_location, weights_only=True)
    except (PermissionError, IsADirectoryError, MemoryError):
        raise
    except Exception as e:  # torch raises RuntimeError, UnpicklingError, EOFError, ...
        raise corrupt(p, torch_reason(e)) from e
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT_VERSION:
        raise corrupt(p, f"no format {FORMAT_VERSION} marker")
    missing = [k for k in require if k not in ckpt]
    if missing:
        raise corrupt(p, f"missing {', '.join(missing)}")
    return ckpt


def torch_reason(e: Exception) -> str:
    """The useful part of torch's load error, on one line: its messages run to paragraphs,
    carry terminal escapes, and advise ``weights_only=False``, which gristmill never does."""
    msg = str(e)
    marker = "WeightsUnpickler error:"
    if marker in msg:
        detail = (msg.split(marker, 1)[1].strip().splitlines() or [""])[0].split(". ")[0]
        why = f"not only tensors and plain containers ({detail})"
    elif isinstance(e, EOFError):
        why = "the file ends early (empty or cut short)"
    else:
        why = f"{type(e).__name__}: {(msg.strip().splitlines() or [''])[0].split('. ')[0]}"
    return "".join(c for c in one_line(why) if c.isprintable())[:300]


def corrupt(path: str | Path, why: str) -> CheckpointError:
    """The one message for a file that cannot serve as a checkpoint."""
    return CheckpointError(f"{path}: not a gristmill checkpoint / corrupt: {why}")


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
    """Restore what ``get_rng_state`` saved. Every tensor is brought to the CPU first: on a GPU
    the checkpoint is loaded with ``map_location`` = the GPU, which moves these tensors there
    too (found by benchmarks/gpu_check.sh: resume on CUDA failed in ``.numpy()``)."""
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = state["numpy"]
    np.random.set_state(
        ("MT19937", n["keys"].cpu().numpy().astype(np.uint32), n["pos"], n["has_gauss"],
         n["cached_gaussian"])
    )
    torch.set_rng_state(state["torch"].cpu())
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
