"""Fixtures for the trainer tests: real demo text, tokenized, written as real shards.

Most tests use a 512-token byte-level BPE trained on the demo text itself (``gristmill
tokenizer train``'s code path): with GPT-2's 50k vocabulary the output layer would dominate every
step of the tiny test models. One fixture keeps the GPT-2 tokenizer for the paths that read it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gristmill.train.config import build_configs

NUM_DOCS = 40  # literature scenes of ~7 KB: ~280 KB of text


def _literature(demo_dir: Path) -> list[tuple[str, str]]:
    rows = []
    with open(demo_dir / "corpus" / "literature.jsonl", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            rows.append((row["id"], row["text"]))
            if len(rows) == NUM_DOCS:
                break
    return rows


@pytest.fixture(scope="session")
def gpt2_tokenizer():
    from gristmill.tokenize import load_tokenizer

    return load_tokenizer("gpt2")


@pytest.fixture(scope="session")
def demo_tokenizer(demo_dir: Path, tmp_path_factory):
    """A 512-token BPE trained on the demo literature (saved as a tokenizer.json)."""
    from gristmill.tokenize import load_tokenizer
    from gristmill.tokenize.train_bpe import train_bpe

    d = tmp_path_factory.mktemp("tok")
    texts = [t for _, t in _literature(demo_dir)]
    pq.write_table(pa.table({"text": texts}), d / "kept.parquet")
    train_bpe([str(d / "kept.parquet")], 512, d / "tokenizer.json")
    return load_tokenizer(str(d / "tokenizer.json"))


def _write(demo_dir, tok, out) -> Path:
    from gristmill.tokenize import write_shards

    docs = [(i, tok.encode(t)) for i, t in _literature(demo_dir)]
    write_shards(docs, out, tok, shard_tokens=40_000, val_fraction=0.2, seed=0)
    return out


@pytest.fixture(scope="session")
def demo_shards(demo_dir: Path, demo_tokenizer, tmp_path_factory) -> Path:
    """Demo literature in shards of the 512-token BPE (20% of documents in validation)."""
    return _write(demo_dir, demo_tokenizer, tmp_path_factory.mktemp("shards"))


@pytest.fixture(scope="session")
def gpt2_shards(demo_dir: Path, gpt2_tokenizer, tmp_path_factory) -> Path:
    """The same text in GPT-2 BPE shards (vocab 50257, uint16)."""
    return _write(demo_dir, gpt2_tokenizer, tmp_path_factory.mktemp("gpt2_shards"))


SMALL = dict(n_layer=2, n_head=2, n_embd=32, block_size=32, batch_size=4, max_steps=6,
             warmup_steps=2, lr=3e-3, min_lr=3e-4, log_every=1, eval_every=3, eval_batches=2,
             ckpt_every=3, progress=False, dtype="fp32")


@pytest.fixture
def small_configs():
    """(GPTConfig, TrainConfig) of a model that trains a step in well under a second on CPU."""

    def make(**overrides):
        return build_configs("tiny", {**SMALL, **overrides})

    return make


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """One intra-op thread: these models are tiny, and on a shared, busy machine OpenMP threads
    that spin-wait for each other make a step ~15x slower than one thread."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
