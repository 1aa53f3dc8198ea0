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
import functools
import logging
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

from gristmill.train import checkpoint as ck
from gristmill.train import import_hf
from gristmill.train.config import TrainConfig
from gristmill.train.data import TokenWindows, WindowSampler, validation_ids
from gristmill.train.distributed import Dist, setup_distributed
from gristmill.train.metrics_sinks import MetricsSink, require_tensorboard
from gristmill.train.model import GPT, GPTConfig
from gristmill.train.optim import lr_at, make_optimizer
from gristmill.train.perf import Throughput, peak_flops, resolve_dtype
from gristmill.train.preflight import (
    ResumeMismatch,
    checkpoint_to_resume,
    data_fingerprint,
    open_data,
    read_init_from,
    tokenizer_meta,
    verify_data,
    with_data_vocab,
)
from gristmill.train.run_dir import prepare_run_dir

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
log = logging.getLogger(__name__)
# ResumeMismatch (raised by preflight) is re-exported: callers of train() catch it from here.
__all__ = ["ResumeMismatch", "evaluate", "train", "train_step"]


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


@dataclass
class Learner:
    """The model being trained and what updates it: built once, passed to each step."""

    model: GPT  # the bare module: weights to save, parameters to clip, evaluation
    fwd_model: Any  # what runs the training forward: the model, compiled and/or DDP-wrapped
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler  # enabled for fp16 only
    dtype: str  # the resolved --dtype: fp32, bf16 or fp16
    autocast: Any  # torch.autocast for bf16/fp16, a null context for fp32


@dataclass
class LoopState:
    """What the loop changes as it runs (with the weights, what last.pt saves)."""

    step: int = 0  # optimizer steps done
    best_val: float = math.inf  # lowest validation loss so far (best.pt holds its weights)


@dataclass
class Windows:
    """The data the loop reads: training windows in a seeded order, a fixed validation set."""

    sampler: WindowSampler
    val_windows: TokenWindows
    val_ids: Any  # the validation windows' indices, the same at every evaluation


def _train(d: Dist, device: torch.device, data: Any, out: Path, mcfg: GPTConfig,
           tcfg: TrainConfig, resume: bool, stop_after: int | None, verify: bool,
           init_from: str | Path | None, sinks: Sequence[MetricsSink]) -> dict:
    """The run, top to bottom: check the inputs, build (or restore) the model, set up the run
    directory, then loop."""
    # -----------------------------------------------------------------------------
    # Inputs: the shards, the weights to start from, the checkpoint to continue
    if tcfg.tensorboard:
        require_tensorboard()  # on every rank, before anything: no rank is left waiting
    shards = open_data(data)
    fp = data_fingerprint(shards)
    init = read_init_from(init_from, resume, shards, mcfg)
    mcfg = with_data_vocab(mcfg, shards)
    ckpt = checkpoint_to_resume(out, resume, mcfg, tcfg, fp, d, device)
    if ckpt is not None:
        init_from = ckpt.get("init_from")  # provenance travels with the run
    verify_data(shards, mcfg.vocab_size, verify, d)

    # -----------------------------------------------------------------------------
    # Model, optimizer, precision; on resume, their state and the RNGs from last.pt
    learner = build_learner(mcfg, tcfg, device, d, init)
    state = LoopState()
    if ckpt is not None:
        state = restore(learner, ckpt, d)
        del ckpt  # its tensors (on the device) are copied: free them before training
    windows = open_windows(shards, mcfg, tcfg, d)
    learner.fwd_model = wrap_for_training(learner.model, tcfg, device, d)

    # -----------------------------------------------------------------------------
    # Run directory (rank 0): config.json, metrics.jsonl, the tokenizer
    meta = {"tokenizer": tokenizer_meta(shards), "eos_id": int(getattr(shards, "eos_id", -1))}
    if init_from is not None:
        meta["init_from"] = str(init_from)
    info = ck.RunInfo(config={"model": mcfg.to_dict(), "train": tcfg.to_dict()}, fingerprint=fp,
                      world_size=d.world_size, grad_accum=tcfg.grad_accum, meta=meta)
    metrics_log = None
    if d.master:
        run_facts = {"dtype": learner.dtype, "world_size": d.world_size, "device": str(device),
                     "data": fp}
        metrics_log = prepare_run_dir(out, info, run_facts, state.step, tcfg.tensorboard, sinks)

    # -----------------------------------------------------------------------------
    # Training
    try:
        return train_loop(learner, windows, state, tcfg, mcfg, out, info, d, device,
                          metrics_log, stop_after)
    finally:
        if metrics_log is not None:
            metrics_log.close()


def build_learner(mcfg: GPTConfig, tcfg: TrainConfig, device: torch.device, d: Dist,
                  init: import_hf.HFCheckpoint | None) -> Learner:
    """The model (seeded, or from ``init``'s weights), AdamW and the grad scaler, on ``device``
    in the resolved dtype. The forward wrapper is set later (``wrap_for_training``)."""
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
    return Learner(model, model, optimizer, scaler, dtype, autocast)


def restore(learner: Learner, ckpt: dict, d: Dist) -> LoopState:
    """Load last.pt's weights, optimizer and scaler state and this rank's RNG states; return
    the step and best validation loss it was saved at."""
    learner.model.load_state_dict(ckpt["model"])
    learner.optimizer.load_state_dict(ckpt["optimizer"])
    if ckpt["scaler"]:
        learner.scaler.load_state_dict(ckpt["scaler"])
    ck.set_rng_state(ckpt["rng"][d.rank])
    return LoopState(step=int(ckpt["step"]), best_val=float(ckpt["best_val_loss"]))


def open_windows(shards: Any, mcfg: GPTConfig, tcfg: TrainConfig, d: Dist) -> Windows:
    train_windows = TokenWindows(shards.arrays("train"), mcfg.block_size, "train")
    val_windows = TokenWindows(shards.arrays("validation"), mcfg.block_size, "validation")
    sampler = WindowSampler(train_windows, tcfg.batch_size, tcfg.seed, d.rank, d.world_size)
    return Windows(sampler, val_windows,
                   validation_ids(val_windows, tcfg.eval_batches * tcfg.batch_size))


def wrap_for_training(model: GPT, tcfg: TrainConfig, device: torch.device, d: Dist) -> Any:
    """What runs the training forward: the model, compiled with ``--compile``, in DDP under
    torchrun."""
    fwd_model: Any = torch.compile(model) if tcfg.compile else model
    if d.world_size > 1:
        fwd_model = DDP(fwd_model, device_ids=[device.index] if device.type == "cuda" else None)
    return fwd_model


def micro_batch(sampler: WindowSampler, device: torch.device, first: int,
                micro: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Micro-batch ``first + micro`` of the global sequence, on ``device``: the batch of a
    step depends on the step alone, which is what makes resume exact."""
    x, y = sampler.get(first + micro)
    if device.type == "cuda":
        x = x.pin_memory().to(device, non_blocking=True)
        y = y.pin_memory().to(device, non_blocking=True)
    return x, y


class ProgressDisplay:
    """A tqdm bar on a terminal (rank 0, with progress on); elsewhere (a log file, CI) or with
    --no-progress, one plain log line per log interval instead of a bar's carriage returns."""

    def __init__(self, tcfg: TrainConfig, start_step: int, master: bool):
        from tqdm.auto import tqdm

        self.total, self.master = tcfg.max_steps, master
        self.use_bar = master and tcfg.progress and sys.stderr.isatty()
        self.bar = tqdm(total=tcfg.max_steps, initial=start_step, disable=not self.use_bar,
                        unit="step", dynamic_ncols=True)

    def status(self, step: int, line: str) -> None:
        """The latest metrics: the bar's postfix, or a log line."""
        self.bar.set_postfix_str(line)
        if self.master and not self.use_bar:
            log.info("step %d/%d: %s", step, self.total, line)

    def message(self, text: str) -> None:
        """A line that stays (above the bar, or in the log); rank 0 only."""
        if not self.master:
            return
        if self.use_bar:
            self.bar.write(text)
        else:
            log.info("%s", text)

    def advance(self) -> None:
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def train_loop(learner: Learner, windows: Windows, state: LoopState, tcfg: TrainConfig,
               mcfg: GPTConfig, out: Path, info: ck.RunInfo, d: Dist, device: torch.device,
               metrics_log: Any, stop_after: int | None) -> dict:
    """Optimizer steps from ``state.step`` to ``max_steps`` (or ``stop_after``), logging,
    evaluating and checkpointing on their schedules; returns the run's summary."""
    tokens_per_step = tcfg.batch_size * tcfg.grad_accum * d.world_size * mcfg.block_size
    flops_per_token = learner.model.flops_per_token()
    peak = peak_flops(device, learner.dtype)
    display = ProgressDisplay(tcfg, state.step, d.master)
    meter = Throughput()  # over the steps since the last log, minus eval and checkpoint time
    summary: dict[str, Any] = {"start_step": state.step}
    data_time = compute_time = 0.0
    record: dict[str, Any] = {}
    learner.fwd_model.train()
    while state.step < tcfg.max_steps:
        # -------------------------------------------------------------------------
        # One optimizer step: grad_accum micro-batches, clip, update
        lr = lr_at(state.step, tcfg)
        for group in learner.optimizer.param_groups:
            group["lr"] = lr
        t_step = time.perf_counter()
        batch = functools.partial(micro_batch, windows.sampler, device,
                                  state.step * tcfg.grad_accum)
        step_loss, grad_norm, dt_data = train_step(
            learner.fwd_model, learner.model, learner.optimizer, learner.scaler, batch,
            tcfg.grad_accum, learner.autocast, tcfg.grad_clip)
        state.step += 1
        meter.step_done()
        data_time += dt_data
        compute_time += time.perf_counter() - t_step
        is_last = state.step == tcfg.max_steps
        is_eval = bool(tcfg.eval_every and state.step % tcfg.eval_every == 0) or is_last

        # -------------------------------------------------------------------------
        # Every log_every steps and at each evaluation: metrics, progress, validation
        if state.step % tcfg.log_every == 0 or is_eval:
            record = step_record(step_loss, grad_norm, lr, state.step, meter, tokens_per_step,
                                 flops_per_token, peak, windows.sampler, tcfg.grad_accum, d)
            display.status(state.step, status_line(record))
            meter.reset()
            with meter.paused():
                if is_eval:
                    val = evaluate(learner.model, windows.val_windows, windows.val_ids,
                                   tcfg.batch_size, device, learner.autocast, d)
                    record.update(val_loss=val, val_perplexity=math.exp(min(val, 50.0)))
                    summary["val_loss"] = val
                    if val < state.best_val:
                        state.best_val = val
                        if d.master:
                            ck.save_best(out, info, learner.model, state.step, val)
                    display.message(f"step {state.step}: val loss {val:.4f} "
                                    f"(ppl {record['val_perplexity']:.2f})")
                if metrics_log is not None:
                    metrics_log.write(record)

        # -------------------------------------------------------------------------
        # Every ckpt_every steps and at the end: last.pt, with every rank's RNG states
        if (tcfg.ckpt_every and state.step % tcfg.ckpt_every == 0) or is_last:
            with meter.paused():
                rngs = ck.gather_rng_states(d.world_size)  # a collective: every rank
                if d.master:
                    ck.save_last(out, info, learner.model, learner.optimizer, learner.scaler,
                                 state.step, state.best_val, rngs)
        display.advance()
        if stop_after is not None and state.step >= stop_after:
            break
    display.close()
    summary.update(step=state.step, best_val_loss=state.best_val, dtype=learner.dtype,
                   device=str(device), tokens_per_step=tokens_per_step,
                   flops_per_token=flops_per_token, data_time_s=data_time,
                   step_time_s=compute_time, num_params=learner.model.num_params(), last=record)
    return summary


def step_record(step_loss: torch.Tensor, grad_norm: torch.Tensor, lr: float, step: int,
                meter: Throughput, tokens_per_step: int, flops_per_token: float,
                peak: float | None, sampler: WindowSampler, grad_accum: int, d: Dist) -> dict:
    """The metrics.jsonl record of ``step``: the loss of this step (mean over micro-steps and
    ranks; a running mean would make a resumed run's first record differ from an uninterrupted
    run's), the LR, the speed since the last record, the epoch and the grad norm."""
    if d.world_size > 1:
        dist.all_reduce(step_loss, op=dist.ReduceOp.AVG)
    tps = meter.tokens_per_s(tokens_per_step)
    flops = tps * flops_per_token
    record = {"step": step, "loss": float(step_loss), "lr": lr, "tokens_per_s": tps,
              "gflops_per_s": flops / 1e9, "epoch": sampler.epoch_of(step * grad_accum),
              "grad_norm": float(grad_norm)}
    if peak is not None:
        record["mfu"] = flops / (peak * d.world_size)
    return record


def status_line(record: dict) -> str:
    """The progress line of a record: loss, LR, speed (MFU on a known GPU, else GFLOP/s)."""
    speed = (f"MFU {record['mfu']:.1%}" if "mfu" in record
             else f"{record['gflops_per_s']:.1f} GFLOP/s")
    return (f"loss {record['loss']:.4f} lr {record['lr']:.2e} {record['tokens_per_s']:,.0f} "
            f"tok/s {speed}")
