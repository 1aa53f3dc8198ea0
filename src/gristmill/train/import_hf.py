"""Start a run from a local Hugging Face GPT-2 checkpoint (``train --init-from DIR``).

The inverse of ``export_hf``: the model has GPT-2's layout and parameter names, so import is a
copy with three adjustments. GPT-2's ``Conv1D`` matrices are stored (in, out) and are transposed
back to ``nn.Linear``'s (out, in); the output head is tied to the token embedding (a checkpoint
whose ``lm_head`` differs from ``wte`` is refused, since this model cannot represent it); and
embedding rows added by ``--pad-vocab-multiple`` keep the seeded fresh initialisation (they
are never targets). ``GPT2Model`` checkpoints (keys without ``transformer.``, as the original
``gpt2`` upload has) and the causal-mask buffers older ``transformers`` saved are accepted.

The model's shape (layers, heads, width, vocabulary, context) comes from ``config.json``; a
setting that contradicts it is an error rather than a silent choice between the two. The shards
must be tokenized with the checkpoint's tokenizer: vocabulary size and EOS id always, and the
token -> id map when both tokenizers can be read, are compared before anything is trained.

``activation_function``: this model computes the exact (erf) GELU, which ``export_hf`` writes as
``"gelu"``. OpenAI's GPT-2 used the tanh approximation (``"gelu_new"``): those checkpoints are
accepted with a warning, as their logits here differ slightly (the two GELUs differ by < 1e-3)
and training adapts to it; any other activation is refused.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from gristmill.errors import ConfigError, UserError, one_line
from gristmill.train.config import TrainConfig, build_configs
from gristmill.train.export_hf import TRANSPOSED
from gristmill.train.model import GPT, PRESETS, GPTConfig

log = logging.getLogger(__name__)

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
# GPTConfig fields that config.json decides (GPT-2 always has biases).
SHAPE_KEYS = ("block_size", "vocab_size", "n_layer", "n_head", "n_embd", "bias")
TANH_GELUS = ("gelu_new", "gelu_pytorch_tanh", "gelu_fast")
# Causal-mask buffers that older transformers versions saved with the weights.
MASK_BUFFER = re.compile(r"^transformer\.h\.\d+\.attn\.(bias|masked_bias)$")


class InitFromError(UserError, ValueError):
    """``--init-from DIR`` that cannot start this run: not a GPT-2 directory, or it does not fit
    the shards or the settings."""


@dataclass(frozen=True)
class HFCheckpoint:
    """What ``config.json`` of a GPT-2 directory says, checked (weights are read later)."""

    path: Path
    shape: dict[str, Any]  # GPTConfig fields (SHAPE_KEYS)
    eos_id: int | None
    weights: Path


def _fail(path: Path, why: str) -> InitFromError:
    return InitFromError(f"--init-from {path}: {why}")


def _int(cfg: dict, key: str, path: Path) -> int:
    value = cfg.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _fail(path, f"config.json has no positive integer {key!r} (got {value!r})")
    return value


def read_hf_checkpoint(path: str | Path) -> HFCheckpoint:
    """Read and check ``DIR/config.json``; find the weights file. Touches no tensor."""
    d = Path(path)
    cfg_path = d / "config.json"
    if not cfg_path.is_file():
        raise _fail(d, "no config.json there (expected a Hugging Face GPT-2 model directory, "
                    "as `gristmill export-hf` or `save_pretrained` writes)")
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise _fail(d, f"config.json is not valid JSON ({one_line(e)})") from None
    if not isinstance(cfg, dict) or cfg.get("model_type") != "gpt2":
        got = cfg.get("model_type") if isinstance(cfg, dict) else None
        raise _fail(d, f"config.json has model_type {got!r}; only GPT-2 ('gpt2') checkpoints "
                    "can initialise this model")
    _check_architecture(cfg, d)
    shape = {"block_size": _int(cfg, "n_positions", d), "vocab_size": _int(cfg, "vocab_size", d),
             "n_layer": _int(cfg, "n_layer", d), "n_head": _int(cfg, "n_head", d),
             "n_embd": _int(cfg, "n_embd", d), "bias": True}
    try:
        GPTConfig(**shape)
    except ValueError as e:
        raise _fail(d, f"config.json: {e}") from None
    weights = next((d / name for name in WEIGHT_FILES if (d / name).is_file()), None)
    if weights is None:
        raise _fail(d, f"no weights there (looked for {' and '.join(WEIGHT_FILES)}; sharded "
                    "checkpoints are not supported)")
    eos = cfg.get("eos_token_id")
    return HFCheckpoint(d, shape, eos if isinstance(eos, int) else None, weights)


def _check_architecture(cfg: dict, d: Path) -> None:
    """Refuse GPT-2 variants this model does not compute; warn about the tanh GELU."""
    n_embd = cfg.get("n_embd")
    problems = []
    if cfg.get("n_inner") not in (None, 4 * n_embd if isinstance(n_embd, int) else None):
        problems.append(f"n_inner {cfg['n_inner']} (this model's MLP is 4 * n_embd wide)")
    if cfg.get("layer_norm_epsilon", 1e-5) != 1e-5:
        problems.append(f"layer_norm_epsilon {cfg['layer_norm_epsilon']} (this model uses 1e-5)")
    if not cfg.get("scale_attn_weights", True) or cfg.get("scale_attn_by_inverse_layer_idx"):
        problems.append("attention scaled other than by 1/sqrt(head_dim)")
    if cfg.get("add_cross_attention"):
        problems.append("cross-attention")
    act = cfg.get("activation_function", "gelu_new")
    if act != "gelu" and act not in TANH_GELUS:
        problems.append(f"activation_function {act!r} (this model uses GELU)")
    if problems:
        raise _fail(d, "a GPT-2 variant this model cannot compute: " + "; ".join(problems))
    if act in TANH_GELUS:
        log.warning("--init-from %s: the checkpoint uses the tanh GELU (%s) and this model the "
                    "exact one, so its outputs differ slightly from the original's until "
                    "training adapts", d, act)


def configs_from_checkpoint(hf: HFCheckpoint, preset: str | None, overrides: dict[str, Any],
                            where: str) -> tuple[GPTConfig, TrainConfig]:
    """The run's configs with the checkpoint's shape; a preset or setting that says otherwise
    is an error naming each contradiction."""
    conflicts = [f"{k} {overrides[k]!r}" for k in SHAPE_KEYS
                 if k in overrides and overrides[k] != hf.shape[k]]
    preset_shape = PRESETS.get(preset or "", {})
    if any(preset_shape.get(k, v) != v for k, v in hf.shape.items()):
        conflicts.append(f"preset {preset!r}")
    if conflicts:
        have = ", ".join(f"{k} {hf.shape[k]!r}" for k in SHAPE_KEYS)
        raise ConfigError(f"{where}: {', '.join(conflicts)} contradict the model of --init-from "
                          f"{hf.path} ({have}); drop them, the checkpoint decides the shape")
    return build_configs(preset, {**overrides, **hf.shape}, where=where)


def check_model(hf: HFCheckpoint, mcfg: GPTConfig) -> None:
    """The model about to be built has the checkpoint's shape (for callers of ``train()``)."""
    diffs = [f"{k} {getattr(mcfg, k)!r} (checkpoint {v!r})" for k, v in hf.shape.items()
             if getattr(mcfg, k) != v]
    if diffs:
        raise _fail(hf.path, "the model config differs from the checkpoint's: " + ", ".join(diffs))


def check_tokenizer(hf: HFCheckpoint, shards: Any) -> None:
    """Refuse shards tokenized with another tokenizer than the checkpoint's."""
    meta = (getattr(shards, "manifest", None) or {}).get("tokenizer") or {}
    name = meta.get("name") or "?"
    vocab, eos = int(shards.vocab_size), int(shards.eos_id)
    fix = (f"tokenize the corpus with the checkpoint's tokenizer (gristmill tokenize "
           f"--tokenizer {hf.path}) or start from a checkpoint trained with {name!r}")
    if hf.shape["vocab_size"] != vocab:
        raise _fail(hf.path, f"its vocabulary has {hf.shape['vocab_size']} tokens but the shards "
                    f"were tokenized with {name!r} ({vocab} tokens); {fix}")
    if hf.eos_id is not None and hf.eos_id != eos:
        raise _fail(hf.path, f"its EOS id is {hf.eos_id} but the shards' tokenizer {name!r} "
                    f"ends documents with {eos}; {fix}")
    mine = _dir_vocab(hf.path)
    theirs = _shards_vocab(meta) if mine else None
    if mine and theirs:
        differ = sorted((i, t) for t, i in mine.items() if theirs.get(t) != i)
        if differ:
            i, t = differ[0]
            raise _fail(hf.path, f"its tokenizer differs from the shards' tokenizer {name!r}: "
                        f"{len(differ)} tokens have other ids (first: {t!r} is {i} there, "
                        f"{theirs.get(t)} in the shards); {fix}")
    else:
        log.info("--init-from %s: tokenizers compared by vocabulary size and EOS id only", hf.path)


def _dir_vocab(d: Path) -> dict[str, int] | None:
    """Token -> id of the checkpoint directory's tokenizer (tokenizer.json, else vocab.json)."""
    import tokenizers

    try:
        if (d / "tokenizer.json").is_file():
            tok = tokenizers.Tokenizer.from_file(str(d / "tokenizer.json"))
            return tok.get_vocab(with_added_tokens=True)
        if (d / "vocab.json").is_file():
            vocab = json.loads((d / "vocab.json").read_text(encoding="utf-8"))
            return vocab if isinstance(vocab, dict) else None
    except Exception as e:  # tokenizers raises a bare Exception on a bad file
        raise _fail(d, f"its tokenizer does not load ({one_line(e)})") from None
    return None


def _shards_vocab(meta: dict) -> dict[str, int] | None:
    """Token -> id of the shards' tokenizer, if it can be found here (else None)."""
    import tokenizers

    from gristmill.train.sample import load_run_tokenizer

    try:
        tok = load_run_tokenizer({"tokenizer": meta})
    except (UserError, FileNotFoundError, ValueError, OSError):
        return None
    return tokenizers.Tokenizer.from_str(tok.hf_tokenizer_json()).get_vocab(with_added_tokens=True)


def _read_tensors(path: Path) -> dict[str, torch.Tensor]:
    """The weights file's tensors (safetensors, or a torch file loaded with weights_only)."""
    from gristmill.train.checkpoint import torch_reason

    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # safetensors and torch raise assorted types for a bad file
        raise _fail(path.parent, f"{path.name} does not load ({torch_reason(e)})") from e
    if not isinstance(sd, dict) or not all(isinstance(t, torch.Tensor) for t in sd.values()):
        raise _fail(path.parent, f"{path.name} is not a state dict of tensors")
    return sd


def hf_to_model_state(hf: HFCheckpoint, model: GPT) -> dict[str, torch.Tensor]:
    """The checkpoint's tensors renamed, transposed and padded into ``model``'s state dict."""
    raw = {k if k.startswith("transformer.") or k == "lm_head.weight" else f"transformer.{k}": t
           for k, t in _read_tensors(hf.weights).items()}
    raw = {k: t for k, t in raw.items() if not MASK_BUFFER.match(k)}
    head = raw.pop("lm_head.weight", None)
    wte = raw.get("transformer.wte.weight")
    if head is not None and wte is not None and not torch.equal(head, wte):
        raise _fail(hf.path, "its lm_head differs from the token embedding; this model ties "
                    "them, so it cannot start from an untied head")
    ours = model.state_dict()
    missing = sorted(k for k in ours if k != "lm_head.weight" and k not in raw)
    extra = sorted(k for k in raw if k not in ours)
    if missing or extra:
        raise _fail(hf.path, f"{hf.weights.name} does not hold a GPT-2 of this shape (missing: "
                    f"{', '.join(missing[:3]) or 'none'}; unexpected: {', '.join(extra[:3]) or 'none'})")
    out: dict[str, torch.Tensor] = {}
    for key, want in ours.items():
        if key == "lm_head.weight":
            continue
        t = raw[key].t() if key.endswith(TRANSPOSED) else raw[key]
        if key == "transformer.wte.weight":  # padded rows keep their seeded initialisation
            t = torch.cat([t.to(want.device, want.dtype), want[t.shape[0]:]])
        if t.shape != want.shape:
            raise _fail(hf.path, f"{key} has shape {tuple(t.shape)}, expected {tuple(want.shape)}")
        out[key] = t.to(want.device, want.dtype)
    out["lm_head.weight"] = out["transformer.wte.weight"]
    return out


def load_weights(hf: HFCheckpoint, model: GPT) -> None:
    """Copy the checkpoint's weights into ``model`` (built with ``hf.shape``)."""
    check_model(hf, model.config)
    model.load_state_dict(hf_to_model_state(hf, model))
