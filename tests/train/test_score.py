"""Scoring a model on evaluation data (``gristmill.train.score``): bits per byte counts every
token of a text exactly once, whatever the batching; multiple-choice scores are the ending's
log probabilities; acc_norm divides by the ending's length in characters."""

from __future__ import annotations

import json
import math
import random
import string
from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F

from gristmill.train.model import GPT
from gristmill.train.score import acc_norm, score_choices, score_texts, text_windows
from gristmill.train.trainer import train

SMALL = dict(n_layer=2, n_head=2, n_embd=32, block_size=32, batch_size=4, warmup_steps=2, lr=3e-3,
             min_lr=3e-4, progress=False, dtype="fp32")


@dataclass
class Item:
    ctx: str
    endings: list[str]
    label: int


def _scenes(demo_dir, n: int, skip: int = 0) -> list[str]:
    out = []
    with open(demo_dir / "corpus" / "literature.jsonl", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i >= skip:
                out.append(json.loads(line)["text"])
            if len(out) == n:
                break
    return out


@pytest.fixture(scope="module")
def model(demo_shards, tmp_path_factory) -> GPT:
    """A small model trained 40 steps on the demo literature (512-token BPE)."""
    from gristmill.train.config import build_configs
    from gristmill.train.sample import load_model

    m, t = build_configs("tiny", {**SMALL, "max_steps": 40, "eval_every": 40, "ckpt_every": 40})
    out = tmp_path_factory.mktemp("scored")
    train(demo_shards, out, m, t)
    return load_model(out, "cpu", prefer="last")[0]


@torch.no_grad()
def _reference_nll(model: GPT, ids: list[int], eos: int) -> float:
    """Each window of [EOS] + ids through the model's own loss, one at a time."""
    total = 0.0
    for x, y in text_windows(ids, eos, model.config.block_size):
        _, loss = model(torch.tensor([x]), torch.tensor([y]))
        total += float(loss) * len(y)
    return total


def test_windows_predict_every_token_once():
    ids = list(range(1, 101))
    windows = text_windows(ids, 0, 32)
    targets = [t for _, y in windows for t in y]
    assert targets == ids
    assert all(len(x) == len(y) <= 32 for x, y in windows)
    assert windows[0][0][0] == 0  # a document starts after EOS
    assert all(x[1:] == y[:-1] for x, y in windows)  # targets are the inputs shifted by one


def test_bits_per_byte_sums_every_tokens_nll_over_the_utf8_bytes(model, demo_tokenizer, demo_dir):
    texts = _scenes(demo_dir, 3, skip=100) + ["Café, naïve — ünïcödé bytes count too."]
    got = score_texts(model, demo_tokenizer, texts, batch_size=4)
    ids = [demo_tokenizer.encode(t) for t in texts]
    ref = sum(_reference_nll(model, i, demo_tokenizer.eos_id) for i in ids)
    assert got.tokens == sum(map(len, ids))
    assert got.bytes == sum(len(t.encode("utf-8")) for t in texts) > sum(map(len, texts))
    assert got.nll == pytest.approx(ref, rel=1e-4)
    assert got.bpb == pytest.approx(ref / (math.log(2) * got.bytes), rel=1e-4)
    # batching (and the padding it needs) changes nothing
    assert score_texts(model, demo_tokenizer, texts, batch_size=1).nll == pytest.approx(got.nll, rel=1e-5)


def test_a_model_trained_on_literature_prefers_literature_to_random_characters(
        model, demo_tokenizer, demo_dir):
    rng = random.Random(0)
    alphabet = string.ascii_letters + string.digits + string.punctuation + " "
    noise = ["".join(rng.choice(alphabet) for _ in range(3000)) for _ in range(2)]
    prose = _scenes(demo_dir, 2, skip=200)
    assert score_texts(model, demo_tokenizer, prose).bpb < score_texts(model, demo_tokenizer, noise).bpb


@torch.no_grad()
def test_choice_scores_are_the_endings_log_probabilities(model, demo_tokenizer):
    items = [Item("Now, lords, for France;", ["the enterprise", "xq zzk"], 0),
             Item("", ["To be, or not to be", "be"], 1)]
    got = score_choices(model, demo_tokenizer, items, batch_size=3)
    eos = demo_tokenizer.eos_id
    for item, scores in zip(items, got, strict=True):
        ctx = [eos, *demo_tokenizer.encode(item.ctx)]
        for ending, score in zip(item.endings, scores, strict=True):
            cont = demo_tokenizer.encode(" " + ending)
            ids = torch.tensor([ctx + cont])
            assert ids.size(1) <= model.config.block_size + 1  # no truncation in this test
            logp = F.log_softmax(model(ids[:, :-1])[0].float(), dim=-1)[0]
            ref = sum(float(logp[len(ctx) - 1 + j, t]) for j, t in enumerate(cont))
            assert score == pytest.approx(ref, rel=1e-4, abs=1e-4)


def test_acc_norm_divides_by_the_endings_length_in_characters():
    items = [Item("c", ["a", "a much longer ending"], 1), Item("c", ["yes", "no"], 0)]
    # item 0: -2/1 = -2 against -10/20 = -0.5: the long ending wins once normalized
    # item 1: -3/3 = -1 against -1/2 = -0.5: "no" wins, the label says "yes"
    assert acc_norm(items, [[-2.0, -10.0], [-3.0, -1.0]]) == 0.5
    # ties go to the first ending
    assert acc_norm([Item("c", ["ab", "cd"], 0)], [[-1.0, -1.0]]) == 1.0
