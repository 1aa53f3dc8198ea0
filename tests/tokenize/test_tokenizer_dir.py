"""`gristmill tokenizer train --output DIR`: a directory AutoTokenizer loads whole, with the
right special tokens and the same ids as gristmill's tokenizer on real demo text."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from transformers import AutoTokenizer

from gristmill.cli import main
from gristmill.pipelines.rundir import MARKER
from gristmill.schemas import documents_to_table
from gristmill.tokenize import load_tokenizer, open_shards
from gristmill.tokenize.bpe import GPT2_EOS
from gristmill.tokenize.hf_files import FILES, write_hf_tokenizer_files


@pytest.fixture(scope="module")
def kept(sample_docs, tmp_path_factory):
    d = tmp_path_factory.mktemp("run") / "kept"
    d.mkdir()
    pq.write_table(documents_to_table(sample_docs), d / "part-00000-of-00001.parquet")
    return d


@pytest.fixture(scope="module")
def tok_dir(kept, tmp_path_factory):
    out = tmp_path_factory.mktemp("tok") / "tokenizer"
    assert main(["tokenizer", "train", "--input", str(kept), "--vocab-size", "1000",
                 "--output", str(out), "--model-max-length", "256"]) == 0
    return out


def test_auto_tokenizer_loads_the_directory(tok_dir, sample_docs):
    assert sorted(p.name for p in tok_dir.iterdir()) == sorted([*FILES, MARKER])
    hf = AutoTokenizer.from_pretrained(str(tok_dir))
    assert hf.eos_token == hf.bos_token == GPT2_EOS and hf.eos_token_id == 0
    assert hf.pad_token == "<|pad|>" and hf.pad_token_id == 1
    assert hf.model_max_length == 256 and len(hf) == 1000
    ours = load_tokenizer(str(tok_dir))
    assert ours.eos_id == hf.eos_token_id and ours.vocab_size == len(hf)
    texts = [d.text for d in sample_docs if GPT2_EOS not in d.text]
    assert len(texts) > 200
    got = [hf(t)["input_ids"] for t in texts]  # transformers' default call: nothing added
    assert got == ours.encode_batch(texts)
    assert all(hf.decode(ids) == t for ids, t in zip(got, texts, strict=True))
    cfg = json.loads((tok_dir / "tokenizer_config.json").read_text())
    assert cfg["tokenizer_class"] == "PreTrainedTokenizerFast"
    assert json.loads((tok_dir / "special_tokens_map.json").read_text()) == {
        "bos_token": GPT2_EOS, "eos_token": GPT2_EOS, "unk_token": GPT2_EOS,
        "pad_token": "<|pad|>"}


def test_the_directory_tokenizes(kept, tok_dir, sample_docs, tmp_path):
    out = tmp_path / "shards"
    assert main(["tokenize", "--input", str(kept), "--output", str(out), "--tokenizer",
                 str(tok_dir), "--val-fraction", "0"]) == 0
    ss = open_shards(out)
    assert ss.vocab_size == 1000 and ss.num_documents("train") == len(sample_docs)


def test_old_json_form_still_writes_the_file_alone(kept, tmp_path, capsys):
    out = tmp_path / "sub" / "tok.json"
    assert main(["tokenizer", "train", "--input", str(kept), "--vocab-size", "300",
                 "--out", str(out)]) == 0
    assert [p.name for p in out.parent.iterdir()] == ["tok.json"]
    assert load_tokenizer(str(out)).vocab_size == 300
    assert "tokenizer.json" in capsys.readouterr().out


def test_directory_rules(kept, tok_dir, tmp_path, capsys):
    args = ["tokenizer", "train", "--input", str(kept), "--vocab-size", "300"]
    assert main([*args, "--output", str(tok_dir)]) == 2  # exists: needs --overwrite
    assert "--overwrite" in capsys.readouterr().err
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "tokenizer.json").write_text("{}")  # not gristmill's: never replaced
    assert main([*args, "--output", str(mine), "--overwrite"]) == 2
    assert "did not create it" in capsys.readouterr().err
    assert (mine / "tokenizer.json").read_text() == "{}"
    again = tmp_path / "again"
    assert main([*args, "--output", str(again)]) == 0
    assert main([*args, "--output", str(again), "--overwrite"]) == 0
    assert AutoTokenizer.from_pretrained(str(again)).eos_token_id == 0


def test_gpt2_files_have_no_pad(gpt2, tmp_path):
    """GPT-2's vocabulary has no pad token: none is invented."""
    write_hf_tokenizer_files(tmp_path, gpt2.hf_tokenizer_json())
    hf = AutoTokenizer.from_pretrained(str(tmp_path))
    assert hf.eos_token_id == 50256 and hf.pad_token is None and hf.model_max_length == 1024
    text = "The quick brown fox, 1234 times."
    assert hf(text)["input_ids"] == gpt2.encode(text)
