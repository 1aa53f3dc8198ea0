"""Shards: text -> shards -> decode round trip, placement, dtype switch, empty input, zero copy."""

from __future__ import annotations

import json
import random

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gristmill.config import TokenizeConfig, parse_config
from gristmill.pipelines.beam_util import make_pipeline
from gristmill.pipelines.run import run_pipeline
from gristmill.pipelines.tokenize import TokenizeToShards
from gristmill.schemas import table_to_documents
from gristmill.tokenize import ShardError, open_shards, write_shards
from gristmill.tokenize import shards as sh
from gristmill.tokenize.verify import verify_shards

EOS = "<|endoftext|>"
CFG = TokenizeConfig(tokenizer="gpt2", shard_tokens=20_000, val_fraction=0.2, seed=3,
                     batch_size=16)


def _beam_tokenize(docs, out, cfg=CFG, workers=1):
    p = make_pipeline(None, workers)
    _ = p | beam.Create(docs) | TokenizeToShards(cfg, str(out))
    p.run().wait_until_finish()
    return json.loads((out / "manifest.json").read_text())


@pytest.fixture(scope="module")
def kept_run(sample_docs, tmp_path_factory):
    """`gristmill run` (run_pipeline) with a tokenize: section, on real demo documents (written
    as JSONL input): the shards must hold exactly the documents it kept."""
    root = tmp_path_factory.mktemp("run")
    corpus = root / "corpus.jsonl"
    with open(corpus, "w", encoding="utf-8") as f:
        for d in sample_docs:
            f.write(json.dumps({"id": d.id, "text": d.text, "source": d.source}) + "\n")
    cfg = parse_config({"normalize": {"nfc": True, "strip_controls": True},
                        "filters": [{"name": "word_count", "params": {"min_words": 5}}],
                        "tokenize": CFG.model_dump()})
    run_pipeline([str(corpus)], str(root / "run"), cfg)
    kept = table_to_documents(pq.read_table(root / "run" / "kept"))
    assert 0 < len(kept) < len(sample_docs)  # the filter removed some: shards follow kept/
    return root / "run", kept


@pytest.fixture(scope="module")
def beam_shards(kept_run):
    out = kept_run[0] / "shards"
    return out, json.loads((out / "manifest.json").read_text())


@pytest.fixture(scope="module")
def kept_docs(kept_run):
    return kept_run[1]


def _expected_shards(docs, manifest) -> dict[str, str]:
    """file -> expected decoded text, from the placement rules: split by id hash, bucket by
    another id hash, buckets renumbered in order, documents sorted by id, EOS after each."""
    out = {}
    for split in sh.SPLITS:
        mine = [d for d in docs if sh.split_of(d.id, CFG.val_fraction, CFG.seed) == split]
        n = sh.num_shards_for(manifest["totals"][split]["tokens"], CFG.shard_tokens)
        buckets: dict[int, list] = {}
        for d in mine:
            buckets.setdefault(sh.bucket_of(d.id, n, CFG.seed), []).append(d)
        for i, b in enumerate(sorted(buckets)):
            text = "".join(d.text + EOS for d in sorted(buckets[b], key=lambda d: d.id))
            out[sh.shard_file_name(split, i)] = text
    return out


def test_round_trip_decode_equals_kept_text_plus_eos(beam_shards, kept_docs, gpt2):
    out, manifest = beam_shards
    ss = open_shards(out)
    assert ss.vocab_size == 50257 and ss.eos_id == 50256 and ss.dtype == np.uint16
    expected = _expected_shards(kept_docs, manifest)
    assert sorted(expected) == sorted(s["file"] for s in manifest["shards"])
    for split in sh.SPLITS:
        arrays = ss.arrays(split)
        files = [s["file"] for s in ss.shards(split)]
        assert len(arrays) == len(files) >= 2  # the sample spans several shards per split
        for f, arr in zip(files, arrays, strict=True):
            assert gpt2.decode(arr) == expected[f]
        assert sum(a.size for a in arrays) == ss.num_tokens(split)
    t = manifest["totals"]
    assert any(EOS in d.text for d in kept_docs)  # the injected literal reached the shards
    assert t["documents"] == len(kept_docs)
    assert t["train"]["documents"] + t["validation"]["documents"] == len(kept_docs)
    assert 0 < t["validation"]["documents"] < t["train"]["documents"]
    assert t["tokens"] == sum(len(gpt2.encode(d.text)) + 1 for d in kept_docs)
    # The literal EOS string inside a document did not become a separator.
    assert sum(int((a == ss.eos_id).sum()) for s in sh.SPLITS for a in ss.arrays(s)) == len(
        kept_docs)
    assert verify_shards(out).ok


def test_beam_and_plain_writer_write_identical_bytes_in_any_order(beam_shards, kept_docs,
                                                                  gpt2, tmp_path):
    out, manifest = beam_shards
    shuffled = list(kept_docs)
    random.Random(7).shuffle(shuffled)
    plain = write_shards(((d.id, gpt2.encode(d.text)) for d in shuffled), tmp_path / "plain",
                         gpt2, shard_tokens=CFG.shard_tokens, val_fraction=CFG.val_fraction,
                         seed=CFG.seed)
    assert plain == manifest
    for s in manifest["shards"]:
        assert (tmp_path / "plain" / s["file"]).read_bytes() == (out / s["file"]).read_bytes()


def test_beam_writer_records_each_shards_max_id(beam_shards):
    out, manifest = beam_shards
    assert manifest["shards"]
    for s in manifest["shards"]:
        assert s["max_id"] == int(sh.map_token_file(out / s["file"]).max())


def test_two_workers_write_the_same_shards(beam_shards, kept_docs, tmp_path):
    out, manifest = beam_shards
    again = _beam_tokenize(list(reversed(kept_docs)), tmp_path / "w2", workers=2)
    assert again == manifest


def test_shard_file_is_one_uncompressed_chunk(beam_shards):
    out, manifest = beam_shards
    path = out / manifest["shards"][0]["file"]
    with pa.ipc.open_file(pa.memory_map(str(path))) as r:
        assert r.num_record_batches == 1
        assert r.schema == pa.schema([pa.field("tokens", pa.uint16(), nullable=False)])
        assert r.get_batch(0).num_rows == manifest["shards"][0]["tokens"]
    # Uncompressed: the raw little-endian ids are in the file as they are.
    arr = open_shards(out).arrays("train")[0]
    assert path.read_bytes().find(arr[:64].tobytes()) > 0


def test_reader_arrays_are_zero_copy_memory_maps(beam_shards):
    out, _ = beam_shards
    before = pa.total_allocated_bytes()
    ss = open_shards(out)
    arrays = ss.arrays("train")
    assert pa.total_allocated_bytes() == before  # nothing read into Arrow's memory pool
    for a in arrays:
        assert not a.flags.writeable and a.flags.c_contiguous and a.dtype == np.uint16
    assert ss.arrays("train")[0] is arrays[0]  # mapped once, then cached


def test_uint16_uint32_switch(tmp_path):
    m16 = write_shards([[0, 1, 65535], [7]], tmp_path / "a", {"vocab_size": 65536, "eos_id": 2},
                       split="train")
    a = open_shards(tmp_path / "a").arrays("train")
    assert m16["dtype"] == "uint16" and a[0].dtype == np.uint16
    assert a[0].tolist() == [0, 1, 65535, 2, 7, 2]
    m32 = write_shards([[0, 65537, 69999], [7]], tmp_path / "b",
                       {"vocab_size": 70000, "eos_id": 65536}, split="train")
    b = open_shards(tmp_path / "b").arrays("train")
    assert m32["dtype"] == "uint32" and b[0].dtype == np.uint32
    assert b[0].tolist() == [0, 65537, 69999, 65536, 7, 65536]
    assert verify_shards(tmp_path / "a").ok and verify_shards(tmp_path / "b").ok
    with pytest.raises(ValueError, match="outside"):
        write_shards([[70000]], tmp_path / "c", {"vocab_size": 70000, "eos_id": 0})
    with pytest.raises(ValueError, match="contains the EOS id"):
        write_shards([[5, 0, 5]], tmp_path / "c", {"vocab_size": 70000, "eos_id": 0})


def test_empty_input(tmp_path):
    m = _beam_tokenize([], tmp_path / "beam")
    assert m["shards"] == [] and m["totals"]["tokens"] == 0 and m["totals"]["documents"] == 0
    assert m == write_shards([], tmp_path / "plain", {"name": "gpt2", "path": None,
                                                     "sha256": m["tokenizer"]["sha256"],
                                                     "vocab_size": 50257, "eos_id": 50256},
                             shard_tokens=CFG.shard_tokens, val_fraction=CFG.val_fraction,
                             seed=CFG.seed)
    ss = open_shards(tmp_path / "beam")
    assert ss.arrays("train") == [] and ss.num_tokens("validation") == 0
    assert verify_shards(tmp_path / "beam").ok


def test_split_fraction_and_rewrite_removes_stale_shards(tmp_path):
    docs = [[i % 99 + 1] * 5 for i in range(2000)]
    m = write_shards(docs, tmp_path, {"vocab_size": 100, "eos_id": 0}, shard_tokens=1000,
                     val_fraction=0.1)
    frac = m["totals"]["validation"]["documents"] / 2000
    assert 0.07 < frac < 0.13
    assert len(m["shards"]) > 10
    m2 = write_shards(docs[:10], tmp_path, {"vocab_size": 100, "eos_id": 0}, split="train")
    assert [s["file"] for s in m2["shards"]] == ["train-00000.arrow"]
    assert sorted(p.name for p in tmp_path.glob("*.arrow")) == ["train-00000.arrow", "train-00000.ids.arrow"]
    assert open_shards(tmp_path).arrays("train")[0].tolist() == [
        t for i in range(10) for t in [*docs[i], 0]]


def test_open_shards_errors(tmp_path):
    with pytest.raises(ShardError, match="not a shards directory"):
        open_shards(tmp_path)
    write_shards([[1, 2]], tmp_path, {"vocab_size": 10, "eos_id": 0}, split="train")
    m = json.loads((tmp_path / "manifest.json").read_text())
    m["shards"][0]["tokens"] = 99
    (tmp_path / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ShardError, match="manifest says 99"):
        open_shards(tmp_path).arrays("train")
    m["schema_version"] = "0"
    (tmp_path / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ShardError, match="schema_version"):
        open_shards(tmp_path)


def test_sorted_bucket_writer_matches_the_plain_one_and_checks_its_input(tmp_path):
    """The Beam merge's writer fills a preallocated array: same bytes as ``write_bucket``, and a
    token count or an order that does not match what was announced is refused, not written."""
    dt = np.dtype(np.uint16)
    docs = [(f"d{i:03d}", np.arange(i % 7 + 1, dtype=dt).tobytes()) for i in range(50)]
    total = sum(len(t) // 2 + 1 for _, t in docs)
    a = sh.write_bucket(tmp_path, "train", 0, reversed(docs), 0, dt)
    b = sh.write_sorted_bucket(tmp_path, "train", 1, iter(docs), total, 0, dt)
    assert (a["sha256"], a["ids_sha256"], a["tokens"], a["documents"], a["max_id"]) == \
        (b["sha256"], b["ids_sha256"], b["tokens"], b["documents"], b["max_id"])
    with pytest.raises(ValueError, match="counted"):
        sh.write_sorted_bucket(tmp_path, "train", 2, iter(docs), total + 1, 0, dt)
    with pytest.raises(ValueError, match="counted"):
        sh.write_sorted_bucket(tmp_path, "train", 3, iter(docs), total - 1, 0, dt)
    with pytest.raises(ValueError, match="not sorted"):
        sh.write_sorted_bucket(tmp_path, "train", 4, reversed(docs), total, 0, dt)
