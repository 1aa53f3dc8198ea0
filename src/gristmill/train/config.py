"""Training configuration: a typed dataclass, presets, and validated overrides from YAML and the CLI.

A typo in a setting must be an error, never a silently new variable: every setting is a field of :class:`GPTConfig` (the network) or :class:`TrainConfig` (the run);
overrides come from a flat YAML mapping and from ``--field-name VALUE`` flags generated from the
dataclasses, are converted to the field's type, and an unknown key is an error that lists the
known ones. Precedence: preset < YAML file < command-line flags.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import typing
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

from gristmill.errors import ConfigError


@dataclass
class GPTConfig:
    """Shape of the network. Every field can be overridden from the CLI or a YAML file."""

    block_size: int = 1024  # context length in tokens
    vocab_size: int = 50257  # GPT-2 BPE; the trainer takes it from the shards' manifest
    pad_vocab_multiple: int = 1  # round vocab up to a multiple (64 speeds up the head matmul)
    n_layer: int = 12  # transformer blocks
    n_head: int = 12  # attention heads; must divide n_embd
    n_embd: int = 768  # width of the residual stream
    dropout: float = 0.0  # 0 is usual for pretraining on fresh data
    bias: bool = True  # biases in Linear and LayerNorm, as GPT-2 has

    def __post_init__(self) -> None:
        if self.n_embd % self.n_head != 0:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        for name in ("block_size", "vocab_size", "pad_vocab_multiple", "n_layer", "n_head"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    @property
    def padded_vocab_size(self) -> int:
        """The embedding's row count: vocab rounded up; the extra rows are never targets."""
        m = self.pad_vocab_multiple
        return (self.vocab_size + m - 1) // m * m

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# GPT-2's published shapes (Radford et al. 2019), plus a CPU-sized model for laptops and the demo.
PRESETS: dict[str, dict] = {
    "tiny": dict(block_size=256, n_layer=4, n_head=4, n_embd=128),
    "gpt2-small": dict(n_layer=12, n_head=12, n_embd=768),  # 124M
    "gpt2-medium": dict(n_layer=24, n_head=16, n_embd=1024),  # 350M
    "gpt2-large": dict(n_layer=36, n_head=20, n_embd=1280),  # 774M
    "gpt2-xl": dict(n_layer=48, n_head=25, n_embd=1600),  # 1558M
}


Dtype = Literal["auto", "fp32", "bf16", "fp16"]


@dataclass
class TrainConfig:
    """How to train. Token budget per optimizer step = batch_size * grad_accum * world * block."""

    batch_size: int = 8  # windows per micro-step per process
    grad_accum: int = 1  # micro-steps per optimizer step (no DDP all-reduce until the last)
    max_steps: int = 1000  # length of the LR schedule; the run ends here
    lr: float = 6e-4  # peak learning rate
    min_lr: float = 6e-5  # cosine decays to this
    warmup_steps: int = 100  # linear warmup from lr/warmup to lr
    weight_decay: float = 0.1  # on matrices only (see GPT.param_groups)
    beta1: float = 0.9  # AdamW first-moment decay
    beta2: float = 0.95  # AdamW second-moment decay (GPT-3's 0.95, steadier than 0.999)
    grad_clip: float = 1.0  # max global grad norm; 0 disables
    dtype: Dtype = "auto"  # auto: bf16 on CUDA; on CPU bf16 only if compiled (see perf.py)
    compile: bool = False  # torch.compile the model
    seed: int = 1337  # init, data order (with the epoch) and dropout
    log_every: int = 10  # steps between metrics.jsonl records / progress updates
    eval_every: int = 200  # steps between validation passes (and at the end); 0: only at the end
    eval_batches: int = 8  # fixed validation set = eval_batches * batch_size windows
    ckpt_every: int = 200  # steps between `last` checkpoints (and at the end); 0: only at the end
    progress: bool = True  # progress bar on a terminal (rank 0); off: log lines, as off a terminal
    tensorboard: bool = False  # also write metrics as TensorBoard events to RUN_DIR/tensorboard/

    def __post_init__(self) -> None:
        positive = ("batch_size", "grad_accum", "max_steps", "log_every", "eval_batches")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("warmup_steps", "eval_every", "ckpt_every", "weight_decay", "grad_clip"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0 < self.min_lr <= self.lr:
            raise ValueError(f"need 0 < min_lr <= lr, got min_lr={self.min_lr} lr={self.lr}")
        if self.dtype not in typing.get_args(Dtype):
            raise ValueError(f"dtype must be one of {typing.get_args(Dtype)}, got {self.dtype!r}")

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


MODEL_KEYS = {f.name for f in fields(GPTConfig)}
TRAIN_KEYS = {f.name for f in fields(TrainConfig)}
assert not MODEL_KEYS & TRAIN_KEYS, "GPTConfig and TrainConfig field names must not collide"


def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _convert(key: str, value: Any, tp: Any, where: str) -> Any:
    """Coerce ``value`` to the field type ``tp``; strings (from the CLI) are parsed."""
    if typing.get_origin(tp) is Literal:
        if value not in typing.get_args(tp):
            raise ConfigError(f"{where}: {key} must be one of {typing.get_args(tp)}, got {value!r}")
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on"):
            return True
        if isinstance(value, str) and value.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{where}: {key} must be a boolean (true/false), got {value!r}")
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ConfigError(f"{where}: {key} must be an integer, got {value!r}")
        try:
            return int(value)
        except ValueError:
            raise ConfigError(f"{where}: {key} must be an integer, got {value!r}") from None
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ConfigError(f"{where}: {key} must be a number, got {value!r}")
        try:
            return float(value)
        except ValueError:
            raise ConfigError(f"{where}: {key} must be a number, got {value!r}") from None
    raise AssertionError(f"unsupported config field type {tp} for {key}")


def build_configs(
    preset: str | None = None,
    overrides: dict[str, Any] | None = None,
    where: str = "overrides",
) -> tuple[GPTConfig, TrainConfig]:
    """Start from ``preset`` (default ``tiny``) and apply a flat mapping of overrides."""
    preset = preset or "tiny"
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; choose one of: {', '.join(PRESETS)}")
    model_kw: dict[str, Any] = dict(PRESETS[preset])
    train_kw: dict[str, Any] = {}
    mtypes, ttypes = _field_types(GPTConfig), _field_types(TrainConfig)
    for key, value in (overrides or {}).items():
        if key in MODEL_KEYS:
            model_kw[key] = _convert(key, value, mtypes[key], where)
        elif key in TRAIN_KEYS:
            train_kw[key] = _convert(key, value, ttypes[key], where)
        else:
            known = ", ".join(sorted(MODEL_KEYS | TRAIN_KEYS))
            raise ConfigError(f"{where}: unknown key {key!r}; known keys: {known}")
    try:
        return GPTConfig(**model_kw), TrainConfig(**train_kw)
    except ValueError as e:
        raise ConfigError(f"{where}: {e}") from None


def load_yaml(path: str | Path) -> tuple[str | None, dict[str, Any]]:
    """A flat YAML mapping of config keys, optionally with ``preset:``. Returns (preset, rest)."""
    import yaml

    p = Path(path)
    if not p.exists():
        raise ConfigError(f"config file not found: {p}")
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"invalid YAML in {p}: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: top level must be a mapping of config keys")
    data = dict(data)
    preset = data.pop("preset", None)
    return preset, data


def field_comments(cls: type) -> dict[str, str]:
    """The ``# comment`` after each field in the dataclass source: the fields' one documentation,
    shown by ``--help`` too."""
    pattern = re.compile(r"^\s+(\w+): [^=]+=.*?#\s*(.+)$")
    out = {}
    for line in inspect.getsource(cls).splitlines():
        m = pattern.match(line)
        if m:
            out[m.group(1)] = m.group(2).replace("%", "%%")
    return out


def add_override_flags(parser: argparse.ArgumentParser) -> None:
    """One ``--field-name`` flag per config field, typed, defaulting to "not given"."""
    for cls, title in ((GPTConfig, "model"), (TrainConfig, "training")):
        group = parser.add_argument_group(f"{title} overrides (default: the preset's value)")
        types = _field_types(cls)
        comments = field_comments(cls)
        for f in dataclasses.fields(cls):
            flag = "--" + f.name.replace("_", "-")
            tp = types[f.name]
            help_text = f"{comments[f.name]} (default {f.default!r})" if f.name in comments \
                else f"default {f.default!r}"
            if typing.get_origin(tp) is Literal:
                group.add_argument(flag, dest=f"cfg_{f.name}", choices=typing.get_args(tp),
                                   default=None, help=help_text)
            elif tp is bool:
                group.add_argument(flag, dest=f"cfg_{f.name}", default=None,
                                   action=argparse.BooleanOptionalAction, help=help_text)
            else:
                group.add_argument(flag, dest=f"cfg_{f.name}", type=tp, default=None,
                                   metavar=tp.__name__.upper(), help=help_text)


def configs_from_args(args: argparse.Namespace) -> tuple[GPTConfig, TrainConfig]:
    """Preset < ``--config`` YAML < explicit flags."""
    return build_configs(*overrides_from_args(args))


def overrides_from_args(args: argparse.Namespace) -> tuple[str | None, dict[str, Any], str]:
    """(preset, the settings given in ``--config`` YAML and flags, where they came from): what
    the user set explicitly, before any preset fills in the rest (``--init-from`` checks these
    against the checkpoint)."""
    preset, overrides = None, {}
    if getattr(args, "config", None):
        preset, overrides = load_yaml(args.config)
        where = str(args.config)
    else:
        where = "command line"
    if getattr(args, "preset", None):
        preset = args.preset
    for key in MODEL_KEYS | TRAIN_KEYS:
        value = getattr(args, f"cfg_{key}", None)
        if value is not None:
            overrides[key] = value
    return preset, overrides, where
