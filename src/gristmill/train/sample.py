"""Load a trained checkpoint and its tokenizer; generate text from a prompt."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from gristmill.errors import UserError
from gristmill.train import checkpoint as ck
from gristmill.train.model import GPT, GPTConfig


def default_device(name: str | None = None) -> str:
    """``name`` if given, else the best device here (a GPU when there is one)."""
    return name or ("cuda" if torch.cuda.is_available() else "cpu")


def load_model(ckpt_path: str | Path, device: str | torch.device = "cpu",
               prefer: str = "best") -> tuple[GPT, dict]:
    """The model of a checkpoint file or run directory (``best`` first), in eval mode."""
    path = ck.resolve(ckpt_path, prefer=prefer)
    ckpt = ck.load(path, map_location=device)
    try:
        model = GPT(GPTConfig(**ckpt["config"]["model"]))
        model.load_state_dict(ckpt["model"])
    except (KeyError, TypeError, ValueError, RuntimeError) as e:  # config or weights don't fit
        raise ck.corrupt(path, ck.torch_reason(e)) from e
    model.to(device).eval()
    ckpt["path"] = str(path)
    return model, ckpt


def load_run_tokenizer(ckpt: dict, override: str | None = None) -> Any:
    """The tokenizer the model was trained with: ``override``, else the manifest's entry.

    A trained tokenizer is found at its recorded path, or as ``tokenizer.json`` next to the
    checkpoint's run directory (the trainer copies it there so a run directory travels whole).
    """
    from gristmill.tokenize import load_tokenizer

    if override:
        return load_tokenizer(override)
    meta = ckpt.get("tokenizer") or {}
    if meta.get("name") == "gpt2" and not meta.get("path"):
        return load_tokenizer("gpt2")
    candidates = [meta.get("path")]
    if ckpt.get("path"):
        candidates.append(str(Path(ckpt["path"]).parent.parent / "tokenizer.json"))
    for cand in candidates:
        if cand and Path(cand).is_file():
            tok = load_tokenizer(cand)
            if meta.get("sha256") and tok.sha256 != meta["sha256"]:
                raise UserError(f"tokenizer {cand} does not match the one the model was trained "
                                 f"with (sha256 {tok.sha256[:12]} != {meta['sha256'][:12]})")
            return tok
    raise FileNotFoundError(
        f"cannot find the tokenizer of {ckpt.get('path')} (recorded: {meta or 'nothing'}); "
        "pass --tokenizer gpt2|PATH"
    )


def generate_text(model: GPT, tokenizer: Any, prompt: str, max_new_tokens: int = 100,
                  temperature: float = 0.8, top_k: int | None = 200, seed: int = 0,
                  num_samples: int = 1, use_cache: bool = True,
                  stop_at_eos: bool = True) -> list[str]:
    """``num_samples`` continuations of ``prompt`` (decoded, prompt included).

    An empty prompt starts from the end-of-text token, i.e. "the start of a document".
    """
    device = model.lm_head.weight.device
    ids = tokenizer.encode(prompt) if prompt else [tokenizer.eos_id]
    if not ids:
        ids = [tokenizer.eos_id]
    idx = torch.tensor([ids] * num_samples, dtype=torch.long, device=device)
    gen = torch.Generator(device=device).manual_seed(seed)
    out = model.generate(idx, max_new_tokens, temperature=temperature, top_k=top_k,
                         use_cache=use_cache, generator=gen,
                         stop_id=tokenizer.eos_id if stop_at_eos and num_samples == 1 else None)
    texts = []
    for row in out.tolist():
        new = row[len(ids):]
        if stop_at_eos and tokenizer.eos_id in new:
            new = new[: new.index(tokenizer.eos_id)]
        texts.append(tokenizer.decode((ids if prompt else []) + new))
    return texts
