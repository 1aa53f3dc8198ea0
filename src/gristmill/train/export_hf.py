"""Export a checkpoint as a GPT-2 model directory that ``transformers`` loads unchanged.

The model already has GPT-2's layout and parameter names, so export is a rename-free copy with
two adjustments: GPT-2's ``Conv1D`` stores matrices as (in, out), the transpose of
``nn.Linear``; and rows added by vocabulary padding are dropped, so the exported vocabulary is
the tokenizer's. Biases absent from a ``bias=False`` model are written as zeros (GPT-2 always
has them), which computes the same function.

Written files: ``model.safetensors``, ``config.json`` (``activation_function="gelu"``, the exact
GELU this model uses), ``tokenizer.json`` + ``tokenizer_config.json`` +
``special_tokens_map.json`` (``gristmill.tokenize.hf_files``) and ``generation_config.json``.
``transformers`` is not needed to export (it is a test dependency only): the config is plain
JSON.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from gristmill.errors import UserError
from gristmill.tokenize.hf_files import write_hf_tokenizer_files
from gristmill.train.model import GPT

# GPT-2 Conv1D weights: stored transposed relative to nn.Linear.
TRANSPOSED = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def hf_state_dict(model: GPT) -> dict[str, torch.Tensor]:
    """GPT2LMHeadModel's tensors (the tied ``lm_head`` is left to ``tie_word_embeddings``)."""
    cfg = model.config
    sd = model.state_dict()
    out: dict[str, torch.Tensor] = {}
    for key, t in sd.items():
        if key == "lm_head.weight":
            continue
        if key.endswith(TRANSPOSED):
            t = t.t()
        if key == "transformer.wte.weight":
            t = t[: cfg.vocab_size]
        out[key] = t.detach().to("cpu", torch.float32).contiguous()
    if not cfg.bias:
        zeros = {"ln_1": cfg.n_embd, "ln_2": cfg.n_embd, "attn.c_attn": 3 * cfg.n_embd,
                 "attn.c_proj": cfg.n_embd, "mlp.c_fc": 4 * cfg.n_embd, "mlp.c_proj": cfg.n_embd}
        for i in range(cfg.n_layer):
            for name, n in zeros.items():
                out[f"transformer.h.{i}.{name}.bias"] = torch.zeros(n)
        out["transformer.ln_f.bias"] = torch.zeros(cfg.n_embd)
    return out


def hf_config(model: GPT, eos_id: int) -> dict[str, Any]:
    cfg = model.config
    return {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "vocab_size": cfg.vocab_size,
        "n_positions": cfg.block_size,
        "n_ctx": cfg.block_size,
        "n_embd": cfg.n_embd,
        "n_layer": cfg.n_layer,
        "n_head": cfg.n_head,
        "n_inner": None,
        "activation_function": "gelu",  # exact erf GELU, as model.MLP uses
        "resid_pdrop": 0.0,
        "embd_pdrop": 0.0,
        "attn_pdrop": 0.0,
        "layer_norm_epsilon": 1e-5,
        "initializer_range": 0.02,
        "scale_attn_weights": True,
        "tie_word_embeddings": True,
        "bos_token_id": eos_id,
        "eos_token_id": eos_id,
        "torch_dtype": "float32",
        "use_cache": True,
    }


def export_hf(model: GPT, tokenizer: Any, out_dir: str | Path) -> Path:
    """Write the model and tokenizer to ``out_dir`` (created; existing files are replaced)."""
    if tokenizer.vocab_size != model.config.vocab_size:
        raise UserError(f"tokenizer has {tokenizer.vocab_size} tokens but the model was trained "
                        f"with vocab_size {model.config.vocab_size}; pass the right --tokenizer")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / ".model.safetensors.tmp"
    save_file(hf_state_dict(model), str(tmp), metadata={"format": "pt"})
    os.replace(tmp, out / "model.safetensors")
    eos = tokenizer.eos_id
    _write_text(out / "config.json", json.dumps(hf_config(model, eos), indent=2) + "\n")
    _write_text(out / "generation_config.json", json.dumps(
        {"bos_token_id": eos, "eos_token_id": eos, "do_sample": True, "top_k": 200}, indent=2) + "\n")
    # the same tokenizer files `gristmill tokenizer train --output DIR` writes
    write_hf_tokenizer_files(out, tokenizer.hf_tokenizer_json(), model.config.block_size)
    return out
