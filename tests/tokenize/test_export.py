"""``gristmill shards export``: each format read back the way its consumer reads it, token for
token against ``open_shards``, on the shards of a real run."""

from __future__ import annotations

import json
import pickle
import struct

import datasets
import numpy as np
import pyarrow.parquet as pq
import pytest

from gristmill.cli import main
from gristmill.cli.shards_export import register_export
from gristmill.tokenize import open_shards, write_shards
from gristmill.tokenize.export import FORMATS, ExportError, export_shards
from gristmill.tokenize.shards import write_ids_file

SPLITS = ("train", "validation")


@pytest.fixture(scope="module")
def shards(small_run):
    s = open_shards(small_run / "shards")
    assert s.num_documents("train") > 0 and s.num_documents("validation") > 0
    return s


def _stream(shards, split: str) -> np.ndarray:
    return np.concatenate(shards.arrays(split))


def _documents(stream: np.ndarray, eos: int) -> list[np.ndarray]:
    """Documents of a shard stream, each with its EOS (the export's unit)."""
    ends = np.flatnonzero(stream == eos)
    return np.split(stream, ends + 1)[:-1]


# ---------------------------------------------------------------- nanoGPT


def nanogpt_get_batch(data_dir, split: str, block_size: int, batch_size: int, seed: int):
    """nanoGPT's train.py get_batch, minus torch: a fresh np.memmap of the split's .bin as
    uint16, random windows of block_size tokens and the next-token targets."""
    name = "train.bin" if split == "train" else "val.bin"
    data = np.memmap(data_dir / name, dtype=np.uint16, mode="r")
    ix = np.random.default_rng(seed).integers(len(data) - block_size, size=batch_size)
    x = np.stack([data[i:i + block_size].astype(np.int64) for i in ix])
    y = np.stack([data[i + 1:i + 1 + block_size].astype(np.int64) for i in ix])
    return data, ix, x, y


def test_nanogpt_is_what_train_py_reads(shards, small_run, tmp_path):
    out = tmp_path / "nanogpt"
    manifest = export_shards(small_run / "shards", out, "nanogpt")
    for split in SPLITS:
        ref = _stream(shards, split).astype(np.int64)
        data, ix, x, y = nanogpt_get_batch(out, split, 16, 8, seed=1)
        assert np.array_equal(np.asarray(data), ref)  # the whole file is the shards' stream
        for row, i in enumerate(ix):
            assert np.array_equal(x[row], ref[i:i + 16]) and np.array_equal(y[row], ref[i + 1:i + 17])
    with open(out / "meta.pkl", "rb") as f:
        meta = pickle.load(f)
    assert meta["vocab_size"] == shards.vocab_size == 50257  # train.py: meta['vocab_size']
    assert manifest["splits"]["validation"]["files"] == ["val.bin"]
    assert manifest["totals"]["tokens"] == shards.num_tokens("train") + shards.num_tokens("validation")
    assert json.loads((out / "export.json").read_text()) == manifest


def test_nanogpt_refuses_ids_over_uint16(tmp_path):
    big = {"name": "big", "vocab_size": 70_000, "eos_id": 0}
    write_shards([[66_000, 5], [7]], tmp_path / "shards", big, val_fraction=0.0)
    with pytest.raises(ExportError, match="65,535"):
        export_shards(tmp_path / "shards", tmp_path / "out", "nanogpt")
    assert not list(tmp_path.glob("out*"))  # refused before anything was written
    # megatron takes it, as int32 (Megatron has no uint32)
    m = export_shards(tmp_path / "shards", tmp_path / "meg", "megatron")
    assert m["dtype"] == "int32"
    assert read_megatron(tmp_path / "meg" / "train_text_document")[0][0].tolist() == [66_000, 5, 0]


# ---------------------------------------------------------------- Megatron


MEGATRON_DTYPES = {1: np.uint8, 2: np.int8, 3: np.int16, 4: np.int32, 5: np.int64,
                   6: np.float64, 7: np.float32, 8: np.uint16}


def read_megatron(prefix) -> tuple[list[np.ndarray], np.ndarray]:
    """An independent reader of Megatron-LM's MMapIndexedDataset, from the format as
    megatron/core/datasets/indexed_dataset.py defines it: (sequences, document index)."""
    raw = (prefix.parent / f"{prefix.name}.idx").read_bytes()
    assert raw[:9] == b"MMIDIDX\x00\x00"
    (version,) = struct.unpack("<Q", raw[9:17])
    assert version == 1
    dtype = np.dtype(MEGATRON_DTYPES[raw[17]])
    n_seq, n_doc = struct.unpack("<QQ", raw[18:34])
    off = 34
    lengths = np.frombuffer(raw, np.int32, n_seq, off)
    off += lengths.nbytes
    pointers = np.frombuffer(raw, np.int64, n_seq, off)
    off += pointers.nbytes
    doc_index = np.frombuffer(raw, np.int64, n_doc, off)
    assert off + doc_index.nbytes == len(raw)  # nothing after the document index
    data = np.memmap(prefix.parent / f"{prefix.name}.bin", mode="r", dtype=np.uint8)
    seqs = [np.frombuffer(data, dtype, int(n), int(p)) for n, p in zip(lengths, pointers, strict=True)]
    assert sum(s.nbytes for s in seqs) == len(data)
    return seqs, doc_index


def test_megatron_one_sequence_per_document(shards, small_run, tmp_path):
    out = tmp_path / "megatron"
    manifest = export_shards(small_run / "shards", out, "megatron")
    assert manifest["dtype"] == "uint16"
    for split in SPLITS:
        seqs, doc_index = read_megatron(out / f"{split}_text_document")
        want = _documents(_stream(shards, split), shards.eos_id)
        assert len(seqs) == len(want) == shards.num_documents(split)
        assert doc_index.tolist() == list(range(len(want) + 1))
        for got, ref in zip(seqs, want, strict=True):
            assert np.array_equal(got, ref) and got[-1] == shards.eos_id


# ---------------------------------------------------------------- HF datasets


def test_hf_load_from_disk(shards, small_run, gpt2, tmp_path):
    out = tmp_path / "hf"
    manifest = export_shards(small_run / "shards", out, "hf")
    assert manifest["ids"] is True
    dd = datasets.load_from_disk(str(out))
    assert sorted(dd) == sorted(SPLITS)
    kept = {r["id"]: r["text"] for r in pq.read_table(small_run / "kept", columns=["id", "text"]).to_pylist()}
    seen = set()
    for split in SPLITS:
        want = _documents(_stream(shards, split), shards.eos_id)
        ds = dd[split]
        assert ds.num_rows == len(want) and ds.column_names == ["id", "input_ids"]
        for got, ref in zip(ds["input_ids"], want, strict=True):
            assert got == ref.tolist()
        # each row's id is the kept document whose text those tokens encode
        for row in ds.select(range(0, ds.num_rows, 7)):
            assert row["input_ids"] == [*gpt2.encode(kept[row["id"]]), shards.eos_id]
        seen |= set(ds["id"])
        arr = ds.with_format("numpy")[:3]["input_ids"]
        assert np.array_equal(arr[0], want[0])
    assert seen == set(kept)  # every kept document, once


def test_shards_without_ids_files_export_without_ids(small_run, tmp_path):
    """Shards written before ids files existed still export (no id column) and verify."""
    import shutil

    old = tmp_path / "old"
    shutil.copytree(small_run / "shards", old)
    m = json.loads((old / "manifest.json").read_text())
    for entry in m["shards"]:
        (old / entry.pop("ids_file")).unlink()
        entry.pop("ids_sha256")
    (old / "manifest.json").write_text(json.dumps(m))
    assert main(["shards", "verify", str(old)]) == 0
    manifest = export_shards(old, tmp_path / "hf", "hf")
    assert manifest["ids"] is False
    assert datasets.load_from_disk(str(tmp_path / "hf"))["train"].column_names == ["input_ids"]


def test_verify_checks_the_ids_files(tmp_path, capsys):
    write_shards([("b", [5, 6]), ("a", [7])], tmp_path / "s", {"vocab_size": 100, "eos_id": 0},
                 val_fraction=0.0)
    ids = open_shards(tmp_path / "s").ids("train")
    assert [a.to_pylist() for a in ids] == [["a", "b"]]  # the shard's (sorted) order
    write_ids_file(tmp_path / "s" / "train-00000.ids.arrow", ["a"])  # one id short, new sha256
    assert main(["shards", "verify", str(tmp_path / "s")]) == 1
    err = capsys.readouterr().err
    assert "ids_sha256" in err and "1 ids, manifest says 2 documents" in err


# ---------------------------------------------------------------- all formats


def test_small_read_windows_write_the_same_bytes(small_run, tmp_path):
    """Documents that span read windows (7 tokens here) are joined exactly: the output does
    not depend on how the shards are read, and a second export gives the same bytes."""
    for fmt in ("nanogpt", "megatron"):
        a = export_shards(small_run / "shards", tmp_path / f"{fmt}-a", fmt)
        b = export_shards(small_run / "shards", tmp_path / f"{fmt}-b", fmt, chunk_tokens=7)
        assert a == b
        for f in a["files"]:
            assert (tmp_path / f"{fmt}-a" / f["file"]).read_bytes() == \
                (tmp_path / f"{fmt}-b" / f["file"]).read_bytes()


def test_cli_export_output_rules(small_run, tmp_path, capsys):
    out = tmp_path / "nano"
    args = ["shards", "export", "--input", str(small_run / "shards"), "--output", str(out),
            "--format", "nanogpt"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "train.bin" in text and "python train.py --dataset=gristmill" in text
    assert main(args) == 2  # exists: --overwrite needed
    assert "--overwrite" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    assert main([*args[:-4], "--output", str(mine), "--format", "hf", "--overwrite"]) == 2
    assert "did not create it" in capsys.readouterr().err
    assert (mine / "notes.txt").read_text() == "keep me"
    assert main(["shards", "export", "--input", str(tmp_path / "none"), "--output",
                 str(tmp_path / "x"), "--format", "megatron"]) == 2
    assert "manifest.json not found" in capsys.readouterr().err


def test_cli_formats_match_the_core():
    import argparse

    parser = argparse.ArgumentParser()
    register_export(parser.add_subparsers())
    action = next(a for a in parser._subparsers._group_actions[0].choices["export"]._actions
                  if a.dest == "format")
    assert tuple(action.choices) == FORMATS
