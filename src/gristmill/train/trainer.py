"""The training loop: single process or DDP under torchrun, exact resume, metrics and checkpoints.

One optimizer step = ``grad_accum`` micro-steps per process. Under DDP the gradient all-reduce is
skipped (``no_sync``) on all but the last micro-step, so accumulation costs no extra
communication. Mixed precision is autocast (bf16, or fp16 with a GradScaler); the loss is
computed in fp32.

Everything that decides what happens at step ``s`` is a function of the checkpoint: weights and
optimizer moments, the LR (a function of ``s``), the data (micro-batch counter ``s * grad_accum``)
and the RNG states. So a run resumed from step ``s`` computes the same losses as one that never
stopped (tested on CPU, where kernels are deterministic).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

from gristmill.errors import UserError
from gristmill.train import checkpoint as ck
from gristmill.train import import_hf
from gristmill.train.config import TrainConfig, default
from gristmill.train.data import TokenWindows, WindowSampler, validation_ids
from gristmill.train.metrics_sinks import MetricsSink, TensorBoardSink, require_tensorboard
from gristmill.train.model import GPT, GPTConfig
from gristmill.train.optim import lr_at, make_optimizer
from gristmill.train.perf import peak_flops, resolve_dtype

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
# Settings that may differ between a run and its resumption without changing the loss curve.
RESUME_FREE_KEYS = {"progress", "log_every", "eval_every", "ckpt_every", "tensorboard"}
# What ckpt/last.pt must hold to resume from it (best.pt lacks the optimizer and RNG states).
RESUME_KEYS = ("model", "optimizer", "scaler", "step", "best_val_loss", "rng", "config", "data")
log = logging.getLogger(__name__)


class ResumeMismatch(UserError, ValueError):
    """``--resume`` with settings that would not continue the same run."""


@dataclass
class Dist:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    initialized_here: bool = False

    @property
    def master(self) -> bool:
        return self.rank == 0


def setup_distributed() -> tuple[Dist, torch.device]:
    """Read torchrun's environment; NCCL on GPUs, gloo on CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist(), torch.device("cuda" if torch.cuda.is_available() else "cpu")
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        device, backend = torch.device("cpu"), "gloo"
    created = not dist.is_initialized()
    if created:
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
    return Dist(rank, local, world, created), device


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


def _tokenizer_meta(shards: Any) -> dict:
    manifest = getattr(shards, "manifest", None) or {}
    tok = manifest.get("tokenizer") if isinstance(manifest, dict) else None
    return dict(tok) if isinstance(tok, dict) else {}


class MetricsLog:
    """``RUN_DIR/metrics.jsonl``: one JSON object per logged step, rewritten on resume; each
    record then goes to the ``sinks`` too (TensorBoard, a user's logger: see metrics_sinks)."""

    def __init__(self, path: Path, resume_step: int | None, sinks: Sequence[MetricsSink] = ()):
        self.path = path
        self.sinks = list(sinks)
        kept: list[str] = []
        if resume_step is not None and path.exists():
            # Steps after the checkpoint are about to be recomputed: drop them so the file is the
            # run's one true curve.
            for line in path.read_text().splitlines():
                if line.strip() and json.loads(line)["step"] <= resume_step:
                    kept.append(line)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("".join(k + "\n" for k in kept))
        os.replace(tmp, path)
        self.f = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def write(self, record: dict) -> None:
        self.f.write(json.dumps(record) + "\n")
        self.f.flush()
        for sink in self.sinks:
            sink.write(record)

    def close(self) -> None:
        self.f.close()
        for sink in self.sinks:
            sink.close()


@torch.no_grad()
def evaluate(model: GPT, windows: TokenWindows, ids: Any, batch_size: int, device: torch.device,
             autocast: Any, d: Dist) -> float:
    """Mean loss over the fixed validation windows (each rank does every W-th, then all-reduce)."""
    was_training = model.training
    model.eval()
    mine = ids[d.rank :: d.world_size]
    total = torch.zeros(2, dtype=torch.float64, device=device)  # (sum of losses, windows)
    for i in range(0, len(mine), batch_size):
        w = torch.from_numpy(windows.gather(mine[i : i + batch_size])).to(device)
        with autocast:
            _, loss = model(w[:, :-1], w[:, 1:])
        total[0] += loss.double() * len(w)
        total[1] += len(w)
    if d.world_size > 1:
        dist.all_reduce(total)
    model.train(was_training)
    return float(total[0] / total[1])


def train_step(fwd_model: Any, model: GPT, optimizer: torch.optim.Optimizer,
               scaler: torch.amp.GradScaler, batch: Any, grad_accum: int, autocast: Any,
               grad_clip: float) -> tuple[torch.Tensor, torch.Tensor, float]:
    """One optimizer step over ``grad_accum`` micro-batches ``batch(0..grad_accum-1)``.

    ``fwd_model`` is what runs forward (the model, compiled and/or DDP-wrapped); ``model`` is the
    bare module whose parameters are clipped. Under DDP every micro-step but the last runs in
    ``no_sync``, so gradients are all-reduced once per optimizer step. Returns (the step's mean
    loss as a tensor, without a device sync; the pre-clip grad norm, also measured when
    ``grad_clip`` is 0 so it is always logged; seconds spent getting data).
    """
    is_ddp = isinstance(fwd_model, DDP)
    step_loss = torch.zeros((), device=model.lm_head.weight.device)
    data_time = 0.0
    for micro in range(grad_accum):
        t0 = time.perf_counter()
        x, y = batch(micro)
        data_time += time.perf_counter() - t0
        last_micro = micro == grad_accum - 1
        sync = fwd_model.no_sync() if is_ddp and not last_micro else contextlib.nullcontext()
        with sync:
            with autocast:
                _, loss = fwd_model(x, y)
            loss = loss / grad_accum
            scaler.scale(loss).backward()
        step_loss += loss.detach()
    scaler.unscale_(optimizer)
    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(),
                                               grad_clip if grad_clip > 0 else math.inf)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)
    return step_loss, grad_norm, data_time


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


def train(
    data: Any,
    out_dir: str | Path,
    mcfg: GPTConfig,
    tcfg: TrainConfig,
    resume: bool = False,
    stop_after: int | None = None,
    verify: bool = True,
    init_from: str | Path | None = None,
    sinks: Sequence[MetricsSink] = (),
) -> dict:
    """Train and return a summary. ``stop_after`` ends the process's loop after that step without
    a final checkpoint, as a kill would (used by the resume tests). ``verify=False`` skips the
    full read of the shards (sha256, ids); the cheap checks always run. ``init_from``: a Hugging
    Face GPT-2 directory whose weights start a new run (``mcfg`` must have its shape; see
    import_hf). ``sinks`` receive every metrics record on rank 0 (see metrics_sinks)."""
    d, device = setup_distributed()
    try:
        summary = _train(d, device, data, Path(out_dir), mcfg, tcfg, resume, stop_after, verify,
                         init_from, sinks)
        if d.initialized_here:
            # Every rank finishes its collectives before any tears gloo down: a rank that
            # destroyed the group while its peer was still in flight aborted the peer
            # ("terminate called without an active exception", seen once in CI). Only on
            # success: after an error the peers may never reach a barrier.
            dist.barrier()
        return summary
    finally:
        if d.initialized_here:
            dist.destroy_process_group()


def _train(d: Dist, device: torch.device, data: Any, out: Path, mcfg: GPTConfig,
           tcfg: TrainConfig, resume: bool, stop_after: int | None, verify: bool,
           init_from: str | Path | None, sinks: Sequence[MetricsSink]) -> dict:
    if tcfg.tensorboard:
        require_tensorboard()  # on every rank, before anything: no rank is left waiting
    shards = open_data(data)
    fp = data_fingerprint(shards)
    init = None
    if init_from is not None:
        if resume:
            raise UserError("--init-from starts a new run from a model's weights and --resume "
                            "continues RUN_DIR's own checkpoint: give one of them")
        init = import_hf.read_hf_checkpoint(init_from)
        import_hf.check_tokenizer(init, shards)
        import_hf.check_model(init, mcfg)
    if shards.vocab_size > mcfg.vocab_size or mcfg.vocab_size == default(GPTConfig, "vocab_size"):
        # The data decides the vocabulary unless the user set a larger one explicitly.
        mcfg = GPTConfig(**{**mcfg.to_dict(), "vocab_size": int(shards.vocab_size)})
    last_path = ck.ckpt_dir(out) / "last.pt"
    ckpt = None
    if resume and last_path.exists():
        ckpt = ck.load(last_path, map_location=device, require=RESUME_KEYS)
        _check_resume(ckpt, mcfg, tcfg, fp, d)
        init_from = ckpt.get("init_from")  # provenance travels with the run
    elif resume:
        _no_checkpoint_to_resume(out, d)
    elif last_path.exists():
        raise FileExistsError(f"{out} already holds a run; pass --resume to continue it or use a new --output")
    verify_data(shards, mcfg.vocab_size, verify, d)

    dtype = resolve_dtype(tcfg.dtype, device, tcfg.compile)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    autocast = (
        torch.autocast(device.type, dtype=DTYPES[dtype]) if dtype != "fp32"
        else contextlib.nullcontext()
    )

    torch.manual_seed(tcfg.seed)  # the same init on every rank (DDP also broadcasts rank 0's)
    model = GPT(mcfg).to(device)
    if init is not None:
        import_hf.load_weights(init, model)
    optimizer = make_optimizer(model, tcfg, device)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == "fp16")
    torch.manual_seed(tcfg.seed + d.rank)  # dropout differs per rank
    step, best_val = 0, math.inf
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        if ckpt["scaler"]:
            scaler.load_state_dict(ckpt["scaler"])
        step, best_val = int(ckpt["step"]), float(ckpt["best_val_loss"])
        ck.set_rng_state(ckpt["rng"][d.rank])
        del ckpt

    train_windows = TokenWindows(shards.arrays("train"), mcfg.block_size, "train")
    val_windows = TokenWindows(shards.arrays("validation"), mcfg.block_size, "validation")
    sampler = WindowSampler(train_windows, tcfg.batch_size, tcfg.seed, d.rank, d.world_size)
    val_ids = validation_ids(val_windows, tcfg.eval_batches * tcfg.batch_size)

    fwd_model: Any = torch.compile(model) if tcfg.compile else model
    if d.world_size > 1:
        fwd_model = DDP(fwd_model, device_ids=[device.index] if device.type == "cuda" else None)

    tokens_per_step = tcfg.batch_size * tcfg.grad_accum * d.world_size * mcfg.block_size
    flops_per_token = model.flops_per_token()
    peak = peak_flops(device, dtype)
    meta = {"tokenizer": _tokenizer_meta(shards), "eos_id": int(getattr(shards, "eos_id", -1))}
    if init_from is not None:
        meta["init_from"] = str(init_from)
    metrics_log = None
    if d.master:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(
            {"model": mcfg.to_dict(), "train": tcfg.to_dict(), "dtype": dtype,
             "world_size": d.world_size, "device": str(device), "data": fp, **meta}, indent=2))
        run_sinks = [*sinks, TensorBoardSink(out, step)] if tcfg.tensorboard else list(sinks)
        metrics_log = MetricsLog(out / "metrics.jsonl", step if step > 0 else None, run_sinks)
        for stale in ck.ckpt_dir(out).glob(".*.tmp*"):  # a checkpoint write that was killed
            stale.unlink()
        tok_path = meta["tokenizer"].get("path")
        if tok_path and Path(tok_path).is_file():
            # A trained tokenizer travels with the run, so `sample` and `export-hf` find it.
            shutil.copyfile(tok_path, out / "tokenizer.json")

    def save_last(at: int) -> None:
        rngs: list[Any] = [ck.rng_state()]
        if d.world_size > 1:
            rngs = [None] * d.world_size
            dist.all_gather_object(rngs, ck.rng_state())
        if not d.master:
            return
        ck.atomic_save({
            "format": ck.FORMAT_VERSION, "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scaler": scaler.state_dict() if scaler.is_enabled() else {},
            "step": at, "best_val_loss": best_val, "rng": rngs,
            "config": {"model": mcfg.to_dict(), "train": tcfg.to_dict()},
            "data": {"micro_batches": at * tcfg.grad_accum * d.world_size,
                     "world_size": d.world_size, "fingerprint": fp},
            **meta,
        }, last_path)

    def save_best(at: int, val: float) -> None:
        if d.master:
            ck.atomic_save({
                "format": ck.FORMAT_VERSION, "model": model.state_dict(), "step": at,
                "val_loss": val, "config": {"model": mcfg.to_dict(), "train": tcfg.to_dict()},
                **meta,
            }, ck.ckpt_dir(out) / "best.pt")

    from tqdm.auto import tqdm

    # A bar on a terminal; elsewhere (a log file, CI) or with --no-progress, one plain log line
    # per log interval instead of a bar's carriage returns.
    use_bar = d.master and tcfg.progress and sys.stderr.isatty()
    bar = tqdm(total=tcfg.max_steps, initial=step, disable=not use_bar, unit="step", dynamic_ncols=True)
    summary: dict[str, Any] = {"start_step": step}
    data_time = compute_time = 0.0
    # Throughput is measured over the steps since the last log, minus eval and checkpoint time.
    interval_t0, interval_steps, paused = time.perf_counter(), 0, 0.0
    record: dict[str, Any] = {}
    fwd_model.train()
    while step < tcfg.max_steps:
        lr = lr_at(step, tcfg)
        for group in optimizer.param_groups:
            group["lr"] = lr
        t_step = time.perf_counter()

        def batch(micro: int, _step: int = step) -> tuple[torch.Tensor, torch.Tensor]:
            x, y = sampler.get(_step * tcfg.grad_accum + micro)
            if device.type == "cuda":
                x = x.pin_memory().to(device, non_blocking=True)
                y = y.pin_memory().to(device, non_blocking=True)
            return x, y

        step_loss, grad_norm, dt_data = train_step(fwd_model, model, optimizer, scaler, batch,
                                                   tcfg.grad_accum, autocast, tcfg.grad_clip)
        data_time += dt_data
        step += 1
        interval_steps += 1
        compute_time += time.perf_counter() - t_step

        is_last = step == tcfg.max_steps
        is_eval = bool(tcfg.eval_every and step % tcfg.eval_every == 0) or is_last
        if step % tcfg.log_every == 0 or is_eval:
            # The loss of this step (mean over micro-steps and ranks): logging a running mean
            # would make a resumed run's first record differ from an uninterrupted run's.
            if d.world_size > 1:
                dist.all_reduce(step_loss, op=dist.ReduceOp.AVG)
            train_loss = float(step_loss)
            dt = max(time.perf_counter() - interval_t0 - paused, 1e-9)
            tps = tokens_per_step * interval_steps / dt
            flops = tps * flops_per_token
            record = {"step": step, "loss": train_loss, "lr": lr, "tokens_per_s": tps,
                      "gflops_per_s": flops / 1e9,
                      "epoch": sampler.epoch_of(step * tcfg.grad_accum)}
            record["grad_norm"] = float(grad_norm)
            if peak is not None:
                record["mfu"] = flops / (peak * d.world_size)
            speed = f"MFU {record['mfu']:.1%}" if peak else f"{flops / 1e9:.1f} GFLOP/s"
            line = f"loss {train_loss:.4f} lr {lr:.2e} {tps:,.0f} tok/s {speed}"
            bar.set_postfix_str(line)
            if d.master and not use_bar:
                log.info("step %d/%d: %s", step, tcfg.max_steps, line)
            interval_t0, interval_steps, paused = time.perf_counter(), 0, 0.0
            t_pause = time.perf_counter()
            if is_eval:
                val = evaluate(model, val_windows, val_ids, tcfg.batch_size, device, autocast, d)
                record.update(val_loss=val, val_perplexity=math.exp(min(val, 50.0)))
                summary["val_loss"] = val
                if val < best_val:
                    best_val = val
                    save_best(step, val)
                if d.master:
                    msg = f"step {step}: val loss {val:.4f} (ppl {record['val_perplexity']:.2f})"
                    if use_bar:
                        bar.write(msg)
                    else:
                        log.info("%s", msg)
            if metrics_log is not None:
                metrics_log.write(record)
            paused += time.perf_counter() - t_pause
        if (tcfg.ckpt_every and step % tcfg.ckpt_every == 0) or is_last:
            t_pause = time.perf_counter()
            save_last(step)
            paused += time.perf_counter() - t_pause
        bar.update(1)
        if stop_after is not None and step >= stop_after:
            break
    bar.close()
    if metrics_log is not None:
        metrics_log.close()
    summary.update(step=step, best_val_loss=best_val, dtype=dtype, device=str(device),
                   tokens_per_step=tokens_per_step, flops_per_token=flops_per_token,
                   data_time_s=data_time, step_time_s=compute_time,
                   num_params=model.num_params(), last=record)
    return summary
