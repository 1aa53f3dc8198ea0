"""Training configuration: typed pydantic models, presets, and validated overrides.

A typo in a setting must be an error, never a silently new variable: every setting is a field of
:class:`GPTConfig` (the network) or :class:`TrainConfig` (the run), both pydantic models that
forbid unknown keys. Each field's ``description`` is its one documentation: the command line
(``gristmill.cli.train``) turns every field into a typed ``--field-name`` flag with that text as
its help. Overrides come from a flat YAML mapping and from those flags; values are converted to
the field's type, and any mistake is a :class:`ConfigError` on one line that names the key.
Precedence: preset < YAML file < command-line flags.

Needs no torch (``gristmill train --help`` reads it on a core install).
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gristmill.errors import ConfigError
from gristmill.train.presets import PRESETS

__all__ = ["PRESETS", "ConfigError", "GPTConfig", "TrainConfig", "build_configs", "gather_overrides",
           "load_yaml"]

Dtype = Literal["auto", "fp32", "bf16", "fp16"]


class _Settings(BaseModel):
    """Shared behaviour of the two config models: unknown keys are errors, a bad value is a
    ``ConfigError`` naming its key, and ``to_dict`` is the plain dict checkpoints store."""

    model_config = ConfigDict(extra="forbid")

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as e:
            raise ConfigError(_one_problem(type(self), e)) from None

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, value: Any, info: Any) -> Any:
        """``true`` is not a number: YAML's ``lr: yes`` must not become ``lr = 1.0``."""
        annotation = cls.model_fields[info.field_name].annotation
        if isinstance(value, bool) and annotation in (int, float):
            kind = "an integer" if annotation is int else "a number"
            raise ValueError(f"{info.field_name} must be {kind}, got {value!r}")
        return value

    def to_dict(self) -> dict[str, Any]:
        """The fields in declaration order (``config.json`` and checkpoints store this)."""
        return self.model_dump()


class GPTConfig(_Settings):
    """Shape of the network. Every field can be overridden from the CLI or a YAML file."""

    block_size: int = Field(1024, ge=1, description="context length in tokens")
    vocab_size: int = Field(50257, ge=1, description="GPT-2 BPE; the trainer takes it from the "
                            "shards' manifest")
    pad_vocab_multiple: int = Field(1, ge=1, description="round vocab up to a multiple (64 speeds "
                                    "up the head matmul)")
    n_layer: int = Field(12, ge=1, description="transformer blocks")
    n_head: int = Field(12, ge=1, description="attention heads; must divide n_embd")
    n_embd: int = Field(768, description="width of the residual stream")
    dropout: float = Field(0.0, description="0 is usual for pretraining on fresh data")
    bias: bool = Field(True, description="biases in Linear and LayerNorm, as GPT-2 has")

    @model_validator(mode="after")
    def _check_shape(self) -> GPTConfig:
        if self.n_embd % self.n_head != 0:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        return self

    @property
    def padded_vocab_size(self) -> int:
        """The embedding's row count: vocab rounded up; the extra rows are never targets."""
        m = self.pad_vocab_multiple
        return (self.vocab_size + m - 1) // m * m


class TrainConfig(_Settings):
    """How to train. Token budget per optimizer step = batch_size * grad_accum * world * block."""

    batch_size: int = Field(8, ge=1, description="windows per micro-step per process")
    grad_accum: int = Field(1, ge=1, description="micro-steps per optimizer step (no DDP "
                            "all-reduce until the last)")
    max_steps: int = Field(1000, ge=1, description="length of the LR schedule; the run ends here")
    lr: float = Field(6e-4, description="peak learning rate")
    min_lr: float = Field(6e-5, description="cosine decays to this")
    warmup_steps: int = Field(100, ge=0, description="linear warmup from lr/warmup to lr")
    weight_decay: float = Field(0.1, ge=0, description="on matrices only (see GPT.param_groups)")
    beta1: float = Field(0.9, description="AdamW first-moment decay")
    beta2: float = Field(0.95, description="AdamW second-moment decay (GPT-3's 0.95, steadier "
                         "than 0.999)")
    grad_clip: float = Field(1.0, ge=0, description="max global grad norm; 0 disables")
    dtype: Dtype = Field("auto", description="auto: bf16 on CUDA; on CPU bf16 only if compiled "
                         "(see perf.py)")
    compile: bool = Field(False, description="torch.compile the model")
    seed: int = Field(1337, description="init, data order (with the epoch) and dropout")
    log_every: int = Field(10, ge=1, description="steps between metrics.jsonl records / progress "
                           "updates")
    eval_every: int = Field(200, ge=0, description="steps between validation passes (and at the "
                            "end); 0: only at the end")
    eval_batches: int = Field(8, ge=1, description="fixed validation set = eval_batches * "
                              "batch_size windows")
    ckpt_every: int = Field(200, ge=0, description="steps between `last` checkpoints (and at the "
                            "end); 0: only at the end")
    progress: bool = Field(True, description="progress bar on a terminal (rank 0); off: log "
                           "lines, as off a terminal")
    tensorboard: bool = Field(False, description="also write metrics as TensorBoard events to "
                              "RUN_DIR/tensorboard/")

    @model_validator(mode="after")
    def _check_schedule(self) -> TrainConfig:
        if not 0 < self.min_lr <= self.lr:
            raise ValueError(f"need 0 < min_lr <= lr, got min_lr={self.min_lr} lr={self.lr}")
        return self


MODEL_KEYS = set(GPTConfig.model_fields)
TRAIN_KEYS = set(TrainConfig.model_fields)
assert not MODEL_KEYS & TRAIN_KEYS, "GPTConfig and TrainConfig field names must not collide"


def default(cls: type[_Settings], key: str) -> Any:
    """A field's declared default (``GPTConfig`` and ``TrainConfig`` hold no class attributes)."""
    return cls.model_fields[key].default


def _one_problem(cls: type[BaseModel], e: ValidationError) -> str:
    """pydantic's first complaint as one line that names the key, in words a YAML or flag user
    reads (pydantic's own messages run to several lines with a documentation link)."""
    err = e.errors(include_url=False)[0]
    key = ".".join(str(part) for part in err["loc"])
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    if kind == "extra_forbidden":
        return f"unknown key {key!r}"
    if kind.startswith("int_"):
        return f"{key} must be an integer, got {value!r}"
    if kind.startswith("float_"):
        return f"{key} must be a number, got {value!r}"
    if kind.startswith("bool_"):
        return f"{key} must be a boolean (true/false), got {value!r}"
    if kind == "literal_error":
        choices = typing.get_args(cls.model_fields[key].annotation)
        return f"{key} must be one of {choices}, got {value!r}"
    if kind == "greater_than_equal":
        return f"{key} must be >= {ctx['ge']}, got {value!r}"
    if kind == "value_error":  # the validators' own messages, which name their keys
        return str(ctx.get("error", err["msg"]))
    return f"{key}: {err['msg']}" if key else err["msg"]


def build_configs(
    preset: str | None = None,
    overrides: dict[str, Any] | None = None,
    where: str = "overrides",
) -> tuple[GPTConfig, TrainConfig]:
    """Start from ``preset`` (default ``tiny``) and apply a flat mapping of overrides."""
    preset = preset or "tiny"
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; choose one of: {', '.join(PRESETS)}")
    unknown = [key for key in (overrides or {}) if key not in MODEL_KEYS | TRAIN_KEYS]
    if unknown:
        known = ", ".join(sorted(MODEL_KEYS | TRAIN_KEYS))
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; known keys: {known}")
    model_kw = {**PRESETS[preset], **{k: v for k, v in (overrides or {}).items() if k in MODEL_KEYS}}
    train_kw = {k: v for k, v in (overrides or {}).items() if k in TRAIN_KEYS}
    try:
        return GPTConfig(**model_kw), TrainConfig(**train_kw)
    except ConfigError as e:
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


def gather_overrides(
    preset: str | None, config_file: str | Path | None, flags: dict[str, Any],
) -> tuple[str | None, dict[str, Any], str]:
    """(preset, the settings given in the YAML file and flags, where they came from): what the
    user set explicitly, before any preset fills in the rest (``--init-from`` checks these
    against the checkpoint). ``flags`` holds only the settings given on the command line; they
    win over the file, and a ``preset`` given there wins over the file's ``preset:``."""
    file_preset, overrides = (None, {}) if not config_file else load_yaml(config_file)
    where = str(config_file) if config_file else "command line"
    return preset or file_preset, {**overrides, **flags}, where
