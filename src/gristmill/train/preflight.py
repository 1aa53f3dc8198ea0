"""What is checked before a run trains: the shards, ``--init-from`` and ``--resume``.

Every check runs before any weight is built or any file written, and a mistake is an
error on one line: shards that do not match their manifest, a Hugging Face checkpoint that does
not fit the shards or the settings, a ``--resume`` whose settings or data would not continue the
same run, a fresh run in a directory that holds one.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from gristmill.errors import UserError
from gristmill.train import checkpoint as ck
from gristmill.train import import_hf
from gristmill.train.config import GPTConfig, TrainConfig, default
from gristmill.train.distributed import Dist

# Settings that may differ between a run and its resumption without changing the loss curve.
RESUME_FREE_KEYS = {"progress", "log_every", "eval_every", "ckpt_every", "tensorboard"}
log = logging.getLogger(__name__)


class ResumeMismatch(UserError, ValueError):
    """``--resume`` with settings that would not continue the same run."""


def open_data(data: Any) -> Any:
    """A shards reader from a SHARDS_DIR path (or an already-open reader, as tests pass)."""
    if isinstance(data, (str, Path)):
        from gristmill.tokenize.shards import open_shards

        return open_shards(data)
    return data


def verify_data(shards: Any, model_vocab: int, full: bool, d: Dist) -> None:
    """Refuse shards that do not match their manifest before any training (``ShardError``, one
    line naming the shard): ``tokenize.verify.require_trainable``, the checks of
    ``gristmill shards verify`` plus ids against the model's vocabulary.

    Under DDP one process per node (local rank 0) does the full read; the others make the cheap
    checks; every rank then raises the same error, so no rank is left waiting in a collective.
    """
    root = getattr(shards, "root", None)
    if root is None:
        return  # an already-open reader without a directory (tests): nothing on disk to check
    from gristmill.tokenize.shards import ShardError
    from gristmill.tokenize.verify import require_trainable

    if not full and d.master:
        log.warning("--no-verify: not reading the shards in %s, so their sha256 and ids are not "
                    "checked (paths and the manifest's max_id still are)", root)
    problem, warnings = None, []
    try:
        warnings = require_trainable(root, model_vocab, full=full and d.local_rank == 0)
    except ShardError as e:
        problem = str(e)
    if d.world_size > 1:
        problems: list[Any] = [None] * d.world_size
        dist.all_gather_object(problems, problem)
        problem = next((p for p in problems if p), None)
    if problem:
        raise ShardError(problem)
    if d.master:
        for w in warnings:
            log.warning("%s", w)


def _no_checkpoint_to_resume(out: Path, d: Dist) -> None:
    """``--resume`` without ``ckpt/last.pt``: a fresh start only where no earlier run would be
    overwritten (its metrics or best checkpoint); said in the log either way."""
    leftovers = [p for p in (out / "metrics.jsonl", ck.ckpt_dir(out) / "best.pt")
                 if p.is_file() and p.stat().st_size > 0]
    if leftovers:
        names = " and ".join(str(p.relative_to(out)) for p in leftovers)
        raise UserError(f"--resume: {out} has {names} but no ckpt/last.pt to resume from (the "
                        f"run stopped before its first checkpoint, or it was removed); use a new "
                        f"--output, or run without --resume to start over in it (replacing them)")
    if d.master:
        log.warning("no checkpoint in %s: starting a new run", out)


def data_fingerprint(shards: Any) -> dict:
    """What a resume must find unchanged: per-split token counts and the vocabulary."""
    manifest = getattr(shards, "manifest", None) or {}
    digests = "".join(str(s.get("sha256", "")) for s in manifest.get("shards", []))
    return {
        "train_tokens": int(shards.num_tokens("train")),
        "validation_tokens": int(shards.num_tokens("validation")),
        "vocab_size": int(shards.vocab_size),
        "shards_sha256": hashlib.sha256(digests.encode()).hexdigest(),
    }


def tokenizer_meta(shards: Any) -> dict:
    manifest = getattr(shards, "manifest", None) or {}
    tok = manifest.get("tokenizer") if isinstance(manifest, dict) else None
    return dict(tok) if isinstance(tok, dict) else {}


def _check_resume(ckpt: dict, mcfg: GPTConfig, tcfg: TrainConfig, fp: dict, d: Dist) -> None:
    diffs = []
    for name, now in (("model", mcfg.to_dict()), ("train", tcfg.to_dict())):
        for key, then in ckpt["config"][name].items():
            if key not in RESUME_FREE_KEYS and now.get(key) != then:
                diffs.append(f"{key}: checkpoint {then!r}, now {now.get(key)!r}")
    if ckpt["data"]["fingerprint"] != fp:
        diffs.append(f"data: checkpoint {ckpt['data']['fingerprint']}, now {fp}")
    if ckpt["data"]["world_size"] != d.world_size:
        diffs.append(f"world_size: checkpoint {ckpt['data']['world_size']}, now {d.world_size}")
    if diffs:
        origin = ckpt.get("init_from")
        hint = (f" (this run started from --init-from {origin}: give its shape, e.g. --n-layer "
                f"{ckpt['config']['model']['n_layer']})" if origin else "")
        raise ResumeMismatch(
            "--resume would not continue the same run:\n  " + "\n  ".join(diffs)
            + f"\nrun with the checkpoint's settings{hint}, or start a new run with a new --output"
        )


def read_init_from(init_from: str | Path | None, resume: bool, shards: Any,
                   mcfg: GPTConfig) -> import_hf.HFCheckpoint | None:
    """The Hugging Face checkpoint that starts the run (``--init-from``), checked against the
    shards' tokenizer and the model's shape; None without one."""
    if init_from is None:
        return None
    if resume:
        raise UserError("--init-from starts a new run from a model's weights and --resume "
                        "continues RUN_DIR's own checkpoint: give one of them")
    init = import_hf.read_hf_checkpoint(init_from)
    import_hf.check_tokenizer(init, shards)
    import_hf.check_model(init, mcfg)
    return init


def with_data_vocab(mcfg: GPTConfig, shards: Any) -> GPTConfig:
    """The data decides the vocabulary unless the user set a larger one explicitly."""
    if shards.vocab_size > mcfg.vocab_size or mcfg.vocab_size == default(GPTConfig, "vocab_size"):
        return GPTConfig(**{**mcfg.to_dict(), "vocab_size": int(shards.vocab_size)})
    return mcfg


def checkpoint_to_resume(out: Path, resume: bool, mcfg: GPTConfig, tcfg: TrainConfig, fp: dict,
                         d: Dist, device: torch.device) -> dict | None:
    """``ckpt/last.pt`` when resuming from it (after checking it continues the same run); None
    for a fresh start. A fresh start in a directory that holds a run is an error."""
    last_path = ck.ckpt_dir(out) / "last.pt"
    if resume and last_path.exists():
        ckpt = ck.load(last_path, map_location=device, require=ck.RESUME_KEYS)
        _check_resume(ckpt, mcfg, tcfg, fp, d)
        return ckpt
    if resume:
        _no_checkpoint_to_resume(out, d)
    elif last_path.exists():
        raise FileExistsError(f"{out} already holds a run; pass --resume to continue it or use a new --output")
    return None
