"""The settings of one ablation, checked before anything runs.

Everything a user can get wrong (two configs with one name, configs that read the input
differently, a token budget of zero, a trainer setting the ablation decides itself) is a
``UserError`` here, before the first pipeline run.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gristmill.config import PipelineConfig, builtin_configs, load_config
from gristmill.errors import UserError

# Trainer settings the ablation sets itself: the length of a run comes from --tokens, the
# seed from --seeds, and the checkpoint/eval cadence from --eval-points.
DECIDED_BY_ABLATION = {
    "max_steps": "--tokens (every model trains on the same number of tokens)",
    "seed": "--seeds (models are trained with seeds 0..K-1)",
    "ckpt_every": "--eval-points",
    "eval_every": "--eval-points",
}
DEFAULT_HELDOUT_FRACTION = 0.01
HELDOUT = "heldout"  # the default eval set's name in ablation.json


@dataclass
class ConfigEntry:
    """A pipeline config of the ablation: its name (the file stem, or the built-in name), what
    the user gave, and the parsed config."""

    name: str
    ref: str
    config: PipelineConfig


@dataclass
class AblationSpec:
    inputs: list[str]
    configs: list[ConfigEntry]
    output: str
    tokens: int
    preset: str = "tiny"
    overrides: dict[str, Any] = field(default_factory=dict)  # GPTConfig / TrainConfig keys
    seeds: int = 1
    evals: list[str] = field(default_factory=list)
    mc_evals: list[str] = field(default_factory=list)
    heldout_fraction: float | None = None  # None: DEFAULT_HELDOUT_FRACTION without --eval, else 0
    eval_points: int = 4  # evaluations along each training, the last at the end
    eval_bytes: int = 500_000  # UTF-8 bytes of each eval set scored (whole documents)
    device: str = "auto"  # auto | cpu | cuda
    nproc_per_node: int = 1  # > 1: each training runs under torchrun (DDP)
    workers: int = 1  # pipeline worker processes
    tokenizer: str = "gpt2"  # for a config without a tokenize: section

    @property
    def heldout(self) -> float:
        """The share of raw input documents held out as the ``heldout`` eval set (0: none)."""
        if self.heldout_fraction is None:
            return 0.0 if self.evals else DEFAULT_HELDOUT_FRACTION
        return self.heldout_fraction


def config_name(ref: str) -> str:
    """A config's name in the ablation: a built-in name as is, a file by its stem."""
    return ref if ref in builtin_configs() and "/" not in ref else Path(ref).stem


def load_entries(refs: list[str]) -> list[ConfigEntry]:
    """Load every ``--config``; names must be unique (they name directories and rows)."""
    entries = [ConfigEntry(config_name(r), r, load_config(r)) for r in refs]
    seen: dict[str, str] = {}
    for e in entries:
        if e.name in seen:
            raise UserError(f"--config {seen[e.name]} and --config {e.ref} have the same name "
                            f"{e.name!r} (a config is named by its file stem); rename one")
        seen[e.name] = e.ref
    return entries


def check(spec: AblationSpec) -> None:
    """Refuse settings that would not give a fair comparison, or could not run."""
    if not spec.configs:
        raise UserError("give at least one --config")
    if spec.tokens < 1:
        raise UserError(f"--tokens must be >= 1, got {spec.tokens}")
    if spec.seeds < 1:
        raise UserError(f"--seeds must be >= 1, got {spec.seeds}")
    if spec.eval_points < 1:
        raise UserError(f"--eval-points must be >= 1, got {spec.eval_points}")
    if spec.eval_bytes < 1:
        raise UserError(f"--eval-bytes must be >= 1, got {spec.eval_bytes}")
    if spec.nproc_per_node < 1:
        raise UserError(f"--nproc-per-node must be >= 1, got {spec.nproc_per_node}")
    if not 0 <= spec.heldout < 1 or math.isnan(spec.heldout):
        raise UserError(f"--heldout-fraction must be in [0, 1), got {spec.heldout}")
    if spec.heldout == 0 and not spec.evals and not spec.mc_evals:
        raise UserError("nothing to evaluate on: --heldout-fraction 0 needs --eval or --mc-eval")
    if spec.device not in ("auto", "cpu", "cuda"):
        raise UserError(f"--device must be auto, cpu or cuda, got {spec.device!r}")
    for key, why in DECIDED_BY_ABLATION.items():
        if key in spec.overrides:
            raise UserError(f"--{key.replace('_', '-')} is set by the ablation: {why}")
    first = spec.configs[0]
    for e in spec.configs[1:]:
        if e.config.input != first.config.input:
            raise UserError(f"configs {first.name!r} and {e.name!r} read the input differently "
                            "(their input: sections differ); an ablation compares what each "
                            "config keeps of the same documents, so give them one input: section")
    for flag, files in (("--eval", spec.evals), ("--mc-eval", spec.mc_evals)):
        for f in files:
            if "://" not in f and not any(c in f for c in "*?[") and not os.path.exists(f):
                raise UserError(f"{flag} {f}: no such file")
    stems = [eval_name(f) for f in spec.evals] + ([HELDOUT] if spec.heldout > 0 else [])
    mc_stems = [eval_name(f) for f in spec.mc_evals]
    for kind, names in (("--eval", stems), ("--mc-eval", mc_stems)):
        dup = sorted({s for s in names if names.count(s) > 1})
        if dup:
            raise UserError(f"two {kind} sets are named {dup[0]!r} (a file is named by its stem, "
                            f"the held-out slice {HELDOUT!r}); rename one")


def eval_name(path: str) -> str:
    """An eval file's name in ablation.json: its stem without compression or format suffixes
    (``wiki.jsonl.gz`` -> ``wiki``)."""
    return Path(path.rstrip("/")).name.split(".")[0]
