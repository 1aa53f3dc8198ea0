"""Score a trained model on evaluation data: bits per byte of reference text, and
multiple-choice accuracy (lm-eval-harness ``acc_norm``).

Both are what ``gristmill ablate`` compares across data configs, so both must not depend on
the tokenizer a config used or on anything that varies between runs:

- **Bits per byte.** Every token of a text is predicted exactly once and the negative log
  likelihoods (nats) are summed; dividing by ``ln 2`` and by the text's UTF-8 byte count gives
  the code length per byte, the same quantity whatever the tokenizer cut the text into.
  A document is preceded by EOS (how documents start in the training stream) and cut into
  consecutive windows of ``block_size`` targets; each window starts a fresh context. The
  windows are a fixed function of the text and the tokenizer, so every evaluation of a model
  (and every model with the same tokenizer) sees the same ones.
- **Multiple choice** (HellaSwag's layout): each ending is scored by the sum of its tokens'
  log probabilities after the context; ``acc_norm`` picks the ending with the highest sum
  divided by the ending's length in characters, as lm-eval-harness does.

Probabilities are taken over the tokenizer's vocabulary only (padded embedding rows, never
targets, are left out of the softmax).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
import torch.nn.functional as F

from gristmill.train.model import GPT

IGNORE = -100  # cross_entropy's ignore_index: padding targets


@dataclass
class TextScore:
    """Summed negative log likelihood (nats) of some texts, with what it was summed over."""

    nll: float
    tokens: int
    bytes: int
    documents: int

    @property
    def bpb(self) -> float:
        return self.nll / (math.log(2) * self.bytes) if self.bytes else float("nan")

    @property
    def loss(self) -> float:
        """Mean nats per token (the training loss's unit; tokenizer dependent)."""
        return self.nll / self.tokens if self.tokens else float("nan")


def text_windows(ids: Sequence[int], eos_id: int, block_size: int) -> list[tuple[list[int], list[int]]]:
    """(inputs, targets) windows that predict every id of a document once: the sequence
    ``[EOS] + ids`` cut every ``block_size`` targets."""
    seq = [eos_id, *ids]
    out = []
    for start in range(0, len(seq) - 1, block_size):
        chunk = seq[start : start + block_size + 1]
        out.append((chunk[:-1], chunk[1:]))
    return out


def _padded(rows: list[list[int]], fill: int, device: torch.device) -> torch.Tensor:
    width = max(len(r) for r in rows)
    t = torch.full((len(rows), width), fill, dtype=torch.long)
    for i, r in enumerate(rows):
        t[i, : len(r)] = torch.tensor(r, dtype=torch.long)
    return t.to(device)


def _logprobs(model: GPT, x: torch.Tensor) -> torch.Tensor:
    logits, _ = model(x)
    return F.log_softmax(logits[..., : model.config.vocab_size].float(), dim=-1)


@torch.no_grad()
def score_texts(model: GPT, tokenizer, texts: Sequence[str], batch_size: int = 16) -> TextScore:
    """Summed NLL of ``texts`` under ``model`` (in eval mode), over ``text_windows``."""
    device = model.lm_head.weight.device
    block = model.config.block_size
    windows = []
    n_tokens = n_bytes = 0
    for ids, text in zip(tokenizer.encode_batch(list(texts)), texts, strict=True):
        windows += text_windows(ids, tokenizer.eos_id, block)
        n_tokens += len(ids)
        n_bytes += len(text.encode("utf-8"))
    windows.sort(key=lambda w: len(w[0]))  # similar lengths per batch: less padding
    total = 0.0
    for i in range(0, len(windows), batch_size):
        batch = windows[i : i + batch_size]
        x = _padded([w[0] for w in batch], tokenizer.eos_id, device)
        y = _padded([w[1] for w in batch], IGNORE, device)
        logp = _logprobs(model, x)
        total += float(F.nll_loss(logp.view(-1, logp.size(-1)), y.view(-1),
                                  ignore_index=IGNORE, reduction="sum"))
    return TextScore(nll=total, tokens=n_tokens, bytes=n_bytes, documents=len(texts))


class ChoiceItem(Protocol):
    """One multiple-choice question (``gristmill.ablate.evalsets.ChoiceItem`` is one): a
    context, its candidate endings, the right one's index."""

    ctx: str
    endings: list[str]
    label: int


def choice_tokens(tokenizer, item: ChoiceItem, block_size: int) -> list[tuple[list[int], int]]:
    """Per ending: (the ids of EOS + context + ending, how many trailing ids are the ending).
    The ending is encoded after one space, as lm-eval-harness joins them; a context too long
    for the model loses its start."""
    ctx = [tokenizer.eos_id, *tokenizer.encode(item.ctx.rstrip(" "))]
    out = []
    for ending in item.endings:
        cont = tokenizer.encode(" " + ending.lstrip(" ")) or [tokenizer.eos_id]
        cont = cont[-block_size:]
        ids = (ctx + cont)[-(block_size + 1):]
        out.append((ids, len(cont)))
    return out


@torch.no_grad()
def score_choices(model: GPT, tokenizer, items: Sequence[ChoiceItem],
                  batch_size: int = 16) -> list[list[float]]:
    """Per item, per ending: the summed log probability of the ending's tokens."""
    device = model.lm_head.weight.device
    flat = [(i, ids, n) for i, item in enumerate(items)
            for ids, n in choice_tokens(tokenizer, item, model.config.block_size)]
    order = sorted(range(len(flat)), key=lambda k: len(flat[k][1]))
    sums = [0.0] * len(flat)
    for start in range(0, len(order), batch_size):
        ks = order[start : start + batch_size]
        x = _padded([flat[k][1][:-1] for k in ks], tokenizer.eos_id, device)
        y = _padded([flat[k][1][1:] for k in ks], IGNORE, device)
        logp = _logprobs(model, x)
        got = logp.gather(-1, y.clamp(min=0).unsqueeze(-1)).squeeze(-1)
        for row, k in enumerate(ks):
            n_in = len(flat[k][1]) - 1
            n_cont = flat[k][2]
            sums[k] = float(got[row, n_in - n_cont : n_in].sum())
    out: list[list[float]] = [[] for _ in items]
    for (i, _, _), s in zip(flat, sums, strict=True):
        out[i].append(s)
    return out


def acc_norm(items: Sequence[ChoiceItem], logprobs: Sequence[Sequence[float]]) -> float:
    """Share of items whose highest ``logprob / len(ending in characters)`` is the label
    (ties go to the first ending, as numpy's argmax does)."""
    right = 0
    for item, lps in zip(items, logprobs, strict=True):
        normed = [lp / max(len(e.lstrip(" ")), 1) for lp, e in zip(lps, item.endings, strict=True)]
        right += int(max(range(len(normed)), key=lambda j: (normed[j], -j)) == item.label)
    return right / len(items) if items else float("nan")


def cuda_available() -> bool:
    return torch.cuda.is_available()


def load_scorer(ckpt_path: str | Path, device: str | None = None) -> tuple[GPT, Any, int]:
    """(model in eval mode, its tokenizer, its step) of a checkpoint file, on ``device``
    (default: the GPU when there is one)."""
    from gristmill.train.sample import load_model, load_run_tokenizer

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    model, ckpt = load_model(ckpt_path, device, prefer="last")
    return model, load_run_tokenizer(ckpt), int(ckpt["step"])
