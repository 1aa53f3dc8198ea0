"""`gristmill tokenize` and `gristmill tokenizer train` end to end on real kept Parquet."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from transformers import PreTrainedTokenizerFast

from gristmill.cli import main
from gristmill.schemas import Document, documents_to_table
from gristmill.tokenize import load_tokenizer, open_shards
from gristmill.tokenize.train_bpe import PAD

EOS = "<|endoftext|>"


def write_kept(docs: list[Document], run_dir: Path) -> Path:
    """A RUN_DIR/kept directory like `gristmill run` writes."""
    kept = run_dir / "kept"
    kept.mkdir(parents=True)
    half = len(docs) // 2
    pq.write_table(documents_to_table(docs[:half]), kept / "part-00000-of-00002.parquet")
    pq.write_table(documents_to_table(docs[half:]), kept / "part-00001-of-00002.parquet")
    return kept


@pytest.fixture(scope="module")
def kept(sample_docs, tmp_path_factory):
    return write_kept(sample_docs, tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="module")
def trained(kept, tmp_path_factory):
    out = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    assert main(["tokenizer", "train", "--input", str(kept), "--vocab-size", "1000",
                 "--out", str(out)]) == 0
    return out


def test_tokenize_cli_gpt2(kept, sample_docs, gpt2, tmp_path, capsys):
    out = tmp_path / "shards"
    assert main(["tokenize", "--input", str(kept), "--output", str(out), "--tokenizer", "gpt2",
                 "--val-fraction", "0.1"]) == 0
    printed = capsys.readouterr().out
    m = json.loads((out / "manifest.json").read_text())
    assert f"{m['totals']['tokens']:,}" in printed
    assert m["totals"]["documents"] == len(sample_docs)
    assert m["tokenizer"]["name"] == "gpt2" and m["dtype"] == "uint16"
    assert m["val_fraction"] == 0.1
    ss = open_shards(out)  # each shard's max_id is recorded (the trainer checks it)
    assert [s["max_id"] for s in m["shards"]] == [
        int(a.max()) for split in ("train", "validation") for a in ss.arrays(split)]
    assert main(["shards", "verify", str(out)]) == 0
    # A non-empty output needs --overwrite.
    assert main(["tokenize", "--input", str(kept), "--output", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_tokenize_cli_missing_input(tmp_path, capsys):
    assert main(["tokenize", "--input", str(tmp_path), "--output", str(tmp_path / "o")]) == 2
    assert "no Parquet files" in capsys.readouterr().err


def test_trained_tokenizer_loads_in_transformers(trained, sample_docs):
    tok = load_tokenizer(str(trained))
    assert tok.vocab_size == 1000 and tok.eos_id == 0
    assert tok.path == str(trained.resolve()) and len(tok.sha256) == 64
    fast = PreTrainedTokenizerFast(tokenizer_file=str(trained), eos_token=EOS, pad_token=PAD)
    assert fast.eos_token_id == 0 and fast.pad_token_id == 1 and len(fast) == 1000
    texts = [d.text for d in sample_docs if EOS not in d.text]
    ours = tok.encode_batch(texts)
    assert ours == [fast.encode(t, add_special_tokens=False) for t in texts]
    assert all(tok.decode(ids) == t for ids, t in zip(ours, texts, strict=True))
    # Trained merges compress: far fewer tokens than UTF-8 bytes.
    assert sum(map(len, ours)) < 0.6 * sum(len(t.encode()) for t in texts)
    assert tok.eos_id not in tok.encode(f"a{EOS}b")


def test_tokenize_with_trained_tokenizer(kept, trained, sample_docs, tmp_path):
    out = tmp_path / "shards"
    # --input may name the run directory itself.
    assert main(["tokenize", "--input", str(kept.parent), "--output", str(out),
                 "--tokenizer", str(trained), "--val-fraction", "0"]) == 0
    ss = open_shards(out)
    assert ss.vocab_size == 1000 and ss.eos_id == 0
    assert ss.manifest["tokenizer"]["path"] == str(trained.resolve())
    assert ss.num_tokens("validation") == 0
    tok = load_tokenizer(str(trained))
    text = "".join(tok.decode(a) for a in ss.arrays("train"))
    assert text.count(EOS) == len(sample_docs) + 1  # one separator each + the injected literal
    assert main(["shards", "verify", str(out)]) == 0


def test_tokenizer_train_rejects_tiny_vocab(kept, tmp_path, capsys):
    assert main(["tokenizer", "train", "--input", str(kept), "--vocab-size", "100",
                 "--out", str(tmp_path / "t.json")]) == 2
    assert "below 258" in capsys.readouterr().err
