"""The proxy models: one per config and seed, the same shape, settings and token budget,
trained in segments with the common evaluations between them.

**Equal budgets.** Every model takes ``steps = round(N / tokens_per_step)`` optimizer steps,
``tokens_per_step = batch_size * grad_accum * nproc_per_node * block_size``, so every model
sees the same number of training tokens ``steps * tokens_per_step``. A config that kept fewer
tokens than that repeats its data: ``epochs = train tokens / kept train-split tokens``.

**Segments.** The run is cut at ``eval_points`` steps (``L, 2L, ..., steps``). The trainer
stops at each one (``stop_after``) right after writing ``ckpt/last.pt`` there
(``ckpt_every = eval_every = L``); the model at that step is scored on every text eval set
(bits per byte), and the next segment resumes from the checkpoint: the trainer's exact
resume, so the segments train the same model as one uninterrupted run. The last point also
scores the multiple-choice sets. The scores go to ``evals.json`` after each point.

**Resume.** A model directory holds ``model.json`` (what the model is trained on and with:
config hash, shards, model and training settings) and ``evals.json``. An interrupted ablation
starts again at the first point without scores, from the last checkpoint; a model whose
``model.json`` no longer matches (the config's run or a setting changed) is trained again from
scratch. Scores of an eval set that changed are recomputed; a point already trained past can
no longer be scored and is left out of the curve.

**GPUs.** Training runs in this process on the trainer's device (the GPU when there is one;
``--device cpu`` hides GPUs). With ``nproc_per_node > 1`` each segment runs under torchrun
(``gristmill.ablate.worker``), DDP across the node's GPUs; evaluations run here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gristmill.ablate.evalsets import ChoiceSet, TextSet
from gristmill.ablate.runs import RunInfo
from gristmill.ablate.spec import AblationSpec
from gristmill.errors import UserError
from gristmill.train.config import GPTConfig, TrainConfig, build_configs, default

log = logging.getLogger("gristmill.ablate")

MODEL_FILE = "model.json"
EVALS_FILE = "evals.json"
# Trainer settings that do not change what is trained (the trainer's RESUME_FREE_KEYS).
CADENCE_KEYS = ("progress", "log_every", "eval_every", "ckpt_every")
# Tests set this to NAME/seed-K@STEP to stop the ablation after that point is scored.
INTERRUPT_ENV = "GRISTMILL_TEST_ABLATE_INTERRUPT"


@dataclass
class ModelPlan:
    """One proxy model to train: where, with which settings, and where to evaluate it."""

    config: str
    seed: int
    dir: Path
    shards: Path
    mcfg: GPTConfig
    tcfg: TrainConfig
    tokens_per_step: int
    points: list[int] = field(default_factory=list)

    @property
    def steps(self) -> int:
        return self.tcfg.max_steps

    @property
    def label(self) -> str:
        return f"{self.config}/seed-{self.seed}"

    def key(self, run: RunInfo, world_size: int) -> dict:
        """What the model is: a stored model is reused only if this is unchanged."""
        train = {k: v for k, v in self.tcfg.to_dict().items() if k not in CADENCE_KEYS}
        manifest = (self.shards / "manifest.json").read_bytes()
        return {"config": self.config, "config_hash": run.config_hash,
                "shards_manifest_sha256": hashlib.sha256(manifest).hexdigest(),
                "model": self.mcfg.to_dict(), "train": train, "world_size": world_size}


def budget(spec: AblationSpec) -> tuple[int, int]:
    """(optimizer steps, tokens per step) for the ablation's token budget."""
    mcfg, tcfg = build_configs(spec.preset, spec.overrides, where="ablation settings")
    per_step = tcfg.batch_size * tcfg.grad_accum * spec.nproc_per_node * mcfg.block_size
    return max(1, round(spec.tokens / per_step)), per_step


def eval_steps(steps: int, points: int) -> list[int]:
    """The steps to evaluate at: every ``ceil(steps / points)`` steps, and the last."""
    every = math.ceil(steps / points)
    return sorted({*range(every, steps, every), steps})


def plan_models(spec: AblationSpec, runs: list[RunInfo], models_dir: Path) -> list[ModelPlan]:
    """One plan per config and seed. Without an explicit ``warmup_steps`` the warmup is a
    tenth of the run, at most the trainer's default: a short proxy run is not all warmup."""
    steps, per_step = budget(spec)
    points = eval_steps(steps, spec.eval_points)
    every = points[0] if len(points) > 1 else steps
    overrides = dict(spec.overrides)
    if "warmup_steps" not in overrides:
        overrides["warmup_steps"] = min(default(TrainConfig, "warmup_steps"), max(1, steps // 10))
    plans = []
    for run in runs:
        for seed in range(spec.seeds):
            mcfg, tcfg = build_configs(spec.preset, {**overrides, "max_steps": steps, "seed": seed,
                                                     "ckpt_every": every, "eval_every": every},
                                       where="ablation settings")
            plans.append(ModelPlan(run.name, seed, models_dir / run.name / f"seed-{seed}",
                                   run.shards_dir, mcfg, tcfg, per_step, points))
    return plans


# ---------------------------------------------------------------------------------------------
# State on disk

def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write_json(path: Path, obj: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2) + "\n")
    os.replace(tmp, path)


def open_model_dir(plan: ModelPlan, key: dict) -> dict:
    """The model's ``evals.json`` state; a directory trained on something else starts over."""
    stored = _read_json(plan.dir / MODEL_FILE)
    if stored is not None and stored != key:
        log.warning("%s: the config's run or the training settings changed; training it again "
                    "from scratch", plan.label)
        shutil.rmtree(plan.dir)
    elif stored is None and plan.dir.exists() and any(plan.dir.iterdir()):
        # model.json is written before the trainer writes anything: this is not ours
        raise UserError(f"{plan.dir} is not empty and has no {MODEL_FILE}, so it is not a model "
                        "of this ablation; move it away")
    plan.dir.mkdir(parents=True, exist_ok=True)
    _write_json(plan.dir / MODEL_FILE, key)
    return _read_json(plan.dir / EVALS_FILE) or {"trained_to": 0, "train_s": 0.0, "points": []}


def point_at(state: dict, step: int) -> dict:
    for p in state["points"]:
        if p["step"] == step:
            return p
    p = {"step": step, "bpb": {}, "mc": {}}
    state["points"].append(p)
    state["points"].sort(key=lambda q: q["step"])
    return p


def missing(point: dict, texts: list[TextSet], choices: list[ChoiceSet], final: bool) -> tuple[list, list]:
    """The eval sets not yet scored at ``point`` (by content: a changed file is scored again)."""
    t = [s for s in texts if point["bpb"].get(s.name, {}).get("sha256") != s.sha256]
    c = [s for s in choices if final and point["mc"].get(s.name, {}).get("sha256") != s.sha256]
    return t, c


# ---------------------------------------------------------------------------------------------
# Training segments

def _segment_in_process(plan: ModelPlan, stop_after: int | None, resume: bool) -> None:
    from gristmill.train.trainer import train

    train(plan.shards, plan.dir, plan.mcfg, plan.tcfg, resume=resume, stop_after=stop_after,
          verify=not resume)


def _segment_torchrun(plan: ModelPlan, stop_after: int | None, resume: bool, nproc: int) -> None:
    job = plan.dir / ".segment.json"
    _write_json(job, {"shards": str(plan.shards), "out": str(plan.dir),
                      "model": plan.mcfg.to_dict(), "train": plan.tcfg.to_dict(),
                      "resume": resume, "stop_after": stop_after, "verify": not resume})
    argv = [sys.executable, "-m", "torch.distributed.run", "--standalone",
            f"--nproc_per_node={nproc}", "-m", "gristmill.ablate.worker", str(job)]
    log.info("%s: %s", plan.label, " ".join(argv))
    proc = subprocess.run(argv)
    if proc.returncode != 0:
        raise UserError(f"{plan.label}: torchrun exited with status {proc.returncode} (its "
                        f"output is above); rerun the same command to resume")
    job.unlink()


def train_to(plan: ModelPlan, step: int, nproc: int) -> None:
    """Train ``plan`` from its last checkpoint (or from scratch) up to ``step``."""
    resume = (plan.dir / "ckpt" / "last.pt").is_file()
    stop_after = None if step >= plan.steps else step
    if nproc > 1:
        _segment_torchrun(plan, stop_after, resume, nproc)
    else:
        _segment_in_process(plan, stop_after, resume)


# ---------------------------------------------------------------------------------------------
# Evaluation

def score_point(plan: ModelPlan, point: dict, texts: list[TextSet], choices: list[ChoiceSet],
                device: str | None) -> None:
    """Score the checkpoint at ``point['step']`` on the given sets, into ``point``."""
    from gristmill.train.score import acc_norm, load_scorer, score_choices, score_texts

    model, tok, step = load_scorer(plan.dir / "ckpt" / "last.pt", device)
    if step != point["step"]:
        raise RuntimeError(f"{plan.dir}/ckpt/last.pt is at step {step}, expected {point['step']}")
    for s in texts:
        r = score_texts(model, tok, s.texts)
        point["bpb"][s.name] = {"bpb": r.bpb, "loss": r.loss, "nll": r.nll, "tokens": r.tokens,
                                "bytes": r.bytes, "sha256": s.sha256}
    for c in choices:
        acc = acc_norm(c.items, score_choices(model, tok, c.items))
        point["mc"][c.name] = {"acc_norm": acc, "n": len(c.items), "sha256": c.sha256}


def _interrupt_hook(plan: ModelPlan, step: int) -> None:
    if os.environ.get(INTERRUPT_ENV) == f"{plan.label}@{step}":
        raise KeyboardInterrupt(f"{INTERRUPT_ENV}: stopping after {plan.label} step {step}")


def train_and_score(plan: ModelPlan, key: dict, texts: list[TextSet], choices: list[ChoiceSet],
                    nproc: int = 1, device: str | None = None) -> dict:
    """Bring one model up to date: train each missing segment, score each point; returns its
    ``evals.json`` state. Everything already done is skipped (see the module docstring)."""
    state = open_model_dir(plan, key)
    for step in plan.points:
        final = step == plan.steps
        point = point_at(state, step)
        need_t, need_c = missing(point, texts, choices, final)
        if not need_t and not need_c:
            continue
        if state["trained_to"] > step:  # its checkpoint is gone: what it has stays, the rest is left out
            log.info("%s: step %d was trained past before %s scored; left out of the curve",
                     plan.label, step, ", ".join(s.name for s in need_t + need_c))
            if not point["bpb"] and not point["mc"]:
                state["points"].remove(point)
            continue
        if state["trained_to"] < step:
            t0 = time.perf_counter()
            log.info("%s: training steps %d..%d of %d (%s tokens each)", plan.label,
                     state["trained_to"] + 1, step, plan.steps, f"{plan.tokens_per_step:,}")
            train_to(plan, step, nproc)
            state["trained_to"] = step
            state["train_s"] = round(state["train_s"] + time.perf_counter() - t0, 3)
            _write_json(plan.dir / EVALS_FILE, state)
        point["tokens"] = step * plan.tokens_per_step
        score_point(plan, point, need_t, need_c, device)
        _write_json(plan.dir / EVALS_FILE, state)
        if texts:
            first = point["bpb"][texts[0].name]["bpb"]
            log.info("%s: step %d, %s bpb %.4f", plan.label, step, texts[0].name, first)
        _interrupt_hook(plan, step)
    return state


def val_losses(model_dir: Path) -> list[tuple[int, float]]:
    """(step, validation loss) from the trainer's ``metrics.jsonl`` (the config's own split)."""
    out: list[tuple[int, float]] = []
    path = model_dir / "metrics.jsonl"
    if path.is_file():
        for line in path.read_text().splitlines():
            rec: dict[str, Any] = json.loads(line) if line.strip() else {}
            if "val_loss" in rec:
                out.append((int(rec["step"]), float(rec["val_loss"])))
    return out
