"""GPT-2 BPE: the tiktoken engine against the HF tokenizers reference, on the real demo corpus."""

from __future__ import annotations

import json

import numpy as np
import pytest
from transformers import PreTrainedTokenizerFast

from gristmill.tokenize import load_tokenizer
from gristmill.tokenize.bpe import build_gpt2_hf

EOS = "<|endoftext|>"


def _texts(demo_dir, stride: int) -> dict[str, list[str]]:
    """Every ``stride``-th document of each demo source (all of them: the benchmark compares
    the whole corpus; the test keeps within its time budget)."""
    by_source: dict[str, list[str]] = {}
    for f in sorted((demo_dir / "corpus").glob("*.jsonl")):
        with open(f, encoding="utf-8") as fh:
            for i, line in enumerate(fh):
                if i % stride:
                    continue
                r = json.loads(line)
                by_source.setdefault(r["source"].split("/")[0], []).append(r["text"])
    return by_source


def test_gpt2_ids_equal_hf_reference_on_all_demo_sources(gpt2, demo_dir):
    """Every 5th document (~3.5 MB) of every demo source: the engine (tiktoken, custom ranks) and HF
    tokenizers' ByteLevel BPE, both built from encoder.json / vocab.bpe, give the same ids."""
    ref = build_gpt2_hf()
    by_source = _texts(demo_dir, stride=5)
    assert set(by_source) == {"fortune", "sms_spam", "shakespeare_modern", "shakespeare_folio",
                              "milton"}
    for source, texts in by_source.items():
        ours = gpt2.encode_batch(texts, num_threads=2)
        theirs = [e.ids for e in ref.encode_batch_fast(texts, add_special_tokens=False)]
        bad = [i for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) if a != b]
        assert not bad, f"{source}: {len(bad)} documents differ, first {texts[bad[0]][:200]!r}"
        # The array path the shard writer uses (tiktoken's buffer API) gives the same ids.
        arrays = gpt2.encode_arrays(texts, num_threads=2)
        assert all(a.dtype == np.uint16 for a in arrays)
        assert [a.tolist() for a in arrays] == ours
        assert sum(map(len, ours)) > 1000


def test_gpt2_known_ids(gpt2):
    # "Hello world" is [15496, 995] in GPT-2; a leading space joins the word.
    assert gpt2.encode("Hello world") == [15496, 995]
    assert gpt2.encode(" Hello") == [18435]
    assert gpt2.vocab_size == 50257 and gpt2.eos_id == 50256
    assert gpt2.name == "gpt2" and gpt2.path is None and len(gpt2.sha256) == 64


def test_literal_endoftext_is_ordinary_text(gpt2):
    text = f"a{EOS}b {EOS}"
    ids = gpt2.encode(text)
    assert gpt2.eos_id not in ids
    assert gpt2.encode_batch([text], num_threads=2)[0] == ids
    assert gpt2.encode_arrays([text])[0].tolist() == ids
    assert gpt2.encode_arrays([text], np.uint32)[0].dtype == np.uint32
    assert gpt2.decode(ids) == text
    # The separator the writer appends decodes to the same string, but is one id.
    assert gpt2.decode([*ids, gpt2.eos_id]) == text + EOS


def test_decode_round_trip_unicode(gpt2):
    text = "Ünïcödé — 日本語 🙂\n\n\ttabs  and   spaces\r\n"
    assert gpt2.decode(gpt2.encode(text)) == text


def test_hf_json_loads_in_transformers_with_same_ids(gpt2, sample_docs, tmp_path):
    path = tmp_path / "tokenizer.json"
    path.write_text(gpt2.hf_tokenizer_json())
    fast = PreTrainedTokenizerFast(tokenizer_file=str(path), eos_token=EOS)
    assert fast.eos_token_id == gpt2.eos_id
    assert len(fast) == gpt2.vocab_size
    for d in sample_docs[:50]:
        if EOS not in d.text:
            assert fast.encode(d.text, add_special_tokens=False) == gpt2.encode(d.text)
    # The same JSON loads back through load_tokenizer(PATH) (HF engine) with equal ids.
    again = load_tokenizer(str(path))
    assert again.eos_id == 50256 and again.vocab_size == 50257
    assert again.encode_batch([d.text for d in sample_docs]) == [gpt2.encode(d.text)
                                                                 for d in sample_docs]
    assert again.eos_id not in again.encode(f"x{EOS}y")


def test_load_tokenizer_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="neither 'gpt2'"):
        load_tokenizer(str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not a valid HF tokenizers JSON"):
        load_tokenizer(str(bad))


def test_lone_surrogate_does_not_crash_the_array_path(gpt2):
    # JSON may carry "\ud800"; tiktoken repairs it (U+FFFD) in encode_ordinary, and the array
    # path falls back to that instead of raising UnicodeEncodeError mid-pipeline.
    text = "bad \ud800 char"
    assert gpt2.encode_arrays([text])[0].tolist() == gpt2.encode(text)
    assert gpt2.decode(gpt2.encode(text)) == "bad \ufffd char"
