"""``gristmill shards export``: token shards in the files other trainers read.

Three formats, each written the way its consumer reads it:

- ``nanogpt``: ``train.bin`` / ``val.bin``, the flat ``uint16`` token stream nanoGPT's
  ``train.py`` maps with ``np.memmap(path, dtype=np.uint16, mode="r")``, and ``meta.pkl``
  whose ``vocab_size`` its ``train.py`` reads (as ``data/openwebtext/prepare.py`` writes
  them, EOS after each document).
- ``megatron``: one Megatron-LM ``IndexedDataset`` per split (``train_text_document.bin`` /
  ``.idx``, ``validation_text_document``), one sequence per document with its EOS, as
  ``tools/preprocess_data.py --append-eod`` makes them. The ``.idx`` layout follows
  ``megatron/core/datasets/indexed_dataset.py``: the header ``MMIDIDX\\x00\\x00``, version 1
  (``<Q``), the token dtype code (``<B``), the sequence count and document count (``<Q``),
  then the sequence lengths (int32), their byte offsets into ``.bin`` (int64) and the
  document index (int64, ``0..N``: document i is sequences ``[i, i+1)``).
- ``hf``: a ``datasets.DatasetDict`` (``train``, ``validation``) saved with ``save_to_disk``,
  one row per document with ``id`` and ``input_ids`` (int32, its EOS last); ``load_from_disk``
  reads it. The ids come from the shards' ids files; shards written before those existed
  export without the ``id`` column.

Every format keeps the shards' split (a document's split is a hash of its id, chosen when
the shards were written) and their order (manifest order, documents by id within a shard),
so each file is the shards' token stream, byte for byte after the dtype. Memory stays bounded
at any corpus size: shards are memory-mapped and read in windows of ``CHUNK_TOKENS``
(vectorized: the per-document Python loop is only ``hf``'s); Megatron's per-document lengths
go through a scratch file. The output directory follows the
run-directory rules (marker, lock, ``--overwrite`` only of what gristmill wrote, crash-safe
replacement) and gets ``export.json``, written last, saying what is in it. Same shards, same
format: the same bytes (``hf`` aside, whose ``state.json`` carries a datasets fingerprint).
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from gristmill.errors import UserError
from gristmill.tokenize.shards import (
    MANIFEST,
    SPLITS,
    ShardError,
    ShardSet,
    open_shards,
    sha256_file,
)

FORMATS = ("nanogpt", "megatron", "hf")
EXPORT_MANIFEST = "export.json"
EXPORT_VERSION = "1"
CHUNK_TOKENS = 1 << 23  # 8M tokens (16 MB of uint16) per read window
NANOGPT_FILES = {"train": "train.bin", "validation": "val.bin"}
NANOGPT_MAX_ID = (1 << 16) - 1
# Megatron-LM's DType codes (indexed_dataset.py) for the dtypes we write.
MEGATRON_HEADER = b"MMIDIDX\x00\x00"
MEGATRON_VERSION = 1
MEGATRON_DTYPE_CODES = {"uint16": 8, "int32": 4}
HF_ROWS_PER_BATCH = 1024

Progress = Callable[[int], None]  # called with the number of tokens just exported


class ExportError(UserError, ValueError):
    """Shards that cannot be exported in the asked format."""


# ---------------------------------------------------------------------------------------------
# Reading the shards: windows of tokens, and documents


def _windows(arr: np.ndarray, chunk: int) -> Iterator[np.ndarray]:
    for start in range(0, arr.size, chunk):
        yield arr[start:start + chunk]


def _check_shard(shards: ShardSet, entry: dict, arr: np.ndarray) -> None:
    """A shard must end with EOS (every document is followed by one), or its last document
    has no end; ``_check_count`` then holds its EOS count to the manifest's documents."""
    where = shards.root / entry["file"]
    if arr.size and int(arr[-1]) != shards.eos_id:
        raise ExportError(f"{where}: does not end with EOS {shards.eos_id}; run "
                          f"`gristmill shards verify {shards.root}`")


def _positioned_documents(shards: ShardSet, split: str, chunk: int
                          ) -> Iterator[tuple[int, int, np.ndarray]]:
    """(shard number, document number in the shard, document) for each document of
    ``split``: the position finds its id in the shard's ids file."""
    eos = shards.eos_id
    for k, (entry, arr) in enumerate(zip(shards.shards(split), shards.arrays(split), strict=True)):
        _check_shard(shards, entry, arr)
        carry: list[np.ndarray] = []
        found = 0
        for win in _windows(arr, chunk):
            ends = np.flatnonzero(win == eos)
            start = 0
            for j, e in enumerate(ends.tolist(), start=found):
                piece = win[start:e + 1]
                yield k, j, (np.concatenate([*carry, piece]) if carry else piece)
                carry = []
                start = e + 1
            if start < win.size:
                carry.append(win[start:])
            found += ends.size
        _check_count(shards, entry, found)


def _check_count(shards: ShardSet, entry: dict, found: int) -> None:
    if found != int(entry["documents"]):
        raise ExportError(f"{shards.root / entry['file']}: {found} EOS-separated documents, "
                          f"manifest says {entry['documents']}; run `gristmill shards verify`")


def _check_token_ids(shards: ShardSet, win: np.ndarray, limit: int, what: str) -> None:
    if win.size and int(win.max()) >= limit:
        raise ExportError(f"{shards.root}: token id {int(win.max())} is not below {limit} "
                          f"({what}); run `gristmill shards verify {shards.root}`")


# ---------------------------------------------------------------------------------------------
# Writers (each returns the files it wrote, relative to the output directory, per split)


def _check_nanogpt(shards: ShardSet) -> None:
    if shards.vocab_size - 1 > NANOGPT_MAX_ID:
        raise ExportError(f"nanogpt needs token ids up to {NANOGPT_MAX_ID:,} (its .bin files are "
                          f"uint16) but the tokenizer has {shards.vocab_size:,} tokens; use "
                          f"--format megatron or hf")


def _write_nanogpt(shards: ShardSet, out: Path, progress: Progress, chunk: int) -> dict:
    written = {}
    for split in SPLITS:
        name = NANOGPT_FILES[split]
        with open(out / name, "wb") as f:
            for arr in shards.arrays(split):
                for win in _windows(arr, chunk):
                    _check_token_ids(shards, win, shards.vocab_size, "the vocabulary")
                    f.write(np.ascontiguousarray(win, dtype=np.uint16).tobytes())
                    progress(win.size)
        written[split] = [name]
    meta = {"vocab_size": shards.vocab_size,  # what nanoGPT's train.py reads
            "eos_id": shards.eos_id, "dtype": "uint16",
            "tokenizer": shards.manifest["tokenizer"].get("name")}
    with open(out / "meta.pkl", "wb") as f:
        pickle.dump(meta, f, protocol=4)
    written["meta"] = ["meta.pkl"]
    return written


def megatron_dtype(shards: ShardSet) -> np.dtype:
    """uint16 when the shards are (Megatron's own choice below 65,500 tokens too), else int32:
    Megatron has no uint32 code and token ids stay far below 2^31."""
    return np.dtype(np.uint16) if shards.dtype == np.uint16 else np.dtype(np.int32)


def _write_megatron(shards: ShardSet, out: Path, progress: Progress, chunk: int) -> dict:
    """``.bin`` is the shards' token stream as is (documents already end with EOS); each
    document's length is the distance between consecutive EOS, found window by window."""
    dtype = megatron_dtype(shards)
    eos = shards.eos_id
    written = {}
    for split in SPLITS:
        prefix = f"{split}_text_document"
        lengths_tmp = out / f".{prefix}.lengths.tmp"
        count = 0
        with open(out / f"{prefix}.bin", "wb") as data, open(lengths_tmp, "wb") as lengths:
            for entry, arr in zip(shards.shards(split), shards.arrays(split), strict=True):
                _check_shard(shards, entry, arr)
                prev, found = -1, 0  # position of the last EOS seen in this shard
                for start in range(0, arr.size, chunk):
                    win = arr[start:start + chunk]
                    data.write(np.ascontiguousarray(win, dtype=dtype).tobytes())
                    ends = np.flatnonzero(win == eos) + start
                    if ends.size:
                        lengths.write(np.diff(ends, prepend=prev).astype(np.int32).tobytes())
                        prev, found = int(ends[-1]), found + ends.size
                    progress(win.size)
                _check_count(shards, entry, found)
                count += found
        with open(out / f"{prefix}.idx", "wb") as idx, open(lengths_tmp, "rb") as lengths:
            _write_megatron_index(idx, lengths, count, dtype, chunk)
        lengths_tmp.unlink()
        written[split] = [f"{prefix}.bin", f"{prefix}.idx"]
    return written


def _write_megatron_index(idx: BinaryIO, lengths: BinaryIO, count: int, dtype: np.dtype,
                          chunk: int) -> None:
    """The ``.idx`` of ``count`` one-sequence documents whose int32 lengths are in ``lengths``,
    streamed: the lengths are read twice (copied, then summed into byte offsets)."""
    idx.write(MEGATRON_HEADER)
    idx.write(struct.pack("<Q", MEGATRON_VERSION))
    idx.write(struct.pack("<B", MEGATRON_DTYPE_CODES[dtype.name]))
    idx.write(struct.pack("<Q", count))  # sequences
    idx.write(struct.pack("<Q", count + 1))  # document index entries: 0, 1, ..., count
    step = max(1, chunk // 8) * 4
    lengths.seek(0)
    for block in iter(lambda: lengths.read(step), b""):
        idx.write(block)
    lengths.seek(0)
    pos = 0
    for block in iter(lambda: lengths.read(step), b""):
        sizes = np.frombuffer(block, dtype=np.int32).astype(np.int64) * dtype.itemsize
        ends = np.cumsum(sizes) + pos
        idx.write((ends - sizes).astype(np.int64).tobytes())
        pos = int(ends[-1])
    for start in range(0, count + 1, max(1, chunk // 8)):
        stop = min(count + 1, start + max(1, chunk // 8))
        idx.write(np.arange(start, stop, dtype=np.int64).tobytes())


def _check_hf(shards: ShardSet) -> None:
    try:
        import datasets  # noqa: F401
    except ImportError:
        raise ExportError("--format hf needs Hugging Face datasets: pip install datasets") from None


def _write_hf(shards: ShardSet, out: Path, progress: Progress, chunk: int) -> dict:
    import datasets
    import pyarrow as pa

    ids = {split: shards.ids(split) for split in SPLITS}
    with_ids = all(v is not None for v in ids.values())
    fields = [pa.field("id", pa.string())] if with_ids else []
    schema = pa.schema([*fields, pa.field("input_ids", pa.list_(pa.int32()))])
    tmp_dir = out / "_tmp"
    tmp_dir.mkdir()
    splits = {}
    for split in SPLITS:
        # Stream documents into an Arrow IPC stream file (what datasets memory-maps), so no
        # split is ever held in memory; save_to_disk then writes the dataset from that map.
        path = tmp_dir / f"{split}.arrow"
        id_arrays = ids[split] if with_ids else None
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
            rows: list[tuple[int, int, np.ndarray]] = []
            for row in _positioned_documents(shards, split, chunk):
                rows.append(row)
                progress(row[2].size)
                if len(rows) >= HF_ROWS_PER_BATCH:
                    writer.write_batch(_hf_batch(rows, schema, id_arrays))
                    rows = []
            writer.write_batch(_hf_batch(rows, schema, id_arrays))
        splits[split] = datasets.Dataset.from_file(str(path))
    bars = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()  # our own progress covers the export; no second bar
    try:
        datasets.DatasetDict(splits).save_to_disk(str(out))
    finally:
        if bars:
            datasets.enable_progress_bars()
    del splits
    for path in tmp_dir.iterdir():
        path.unlink()
    tmp_dir.rmdir()
    written = {split: sorted(str(p.relative_to(out)) for p in (out / split).iterdir())
               for split in SPLITS}
    return written | {"dataset": ["dataset_dict.json"]}


def _hf_batch(rows: list[tuple[int, int, np.ndarray]], schema, id_arrays) -> Any:
    """One record batch of documents; their ids are slices of the shards' ids files (the rows
    of one shard are consecutive)."""
    import pyarrow as pa

    docs = [doc for _, _, doc in rows]
    lengths = np.fromiter((d.size for d in docs), dtype=np.int64, count=len(docs))
    offsets = np.zeros(len(docs) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    flat = np.concatenate(docs).astype(np.int32) if docs else np.empty(0, np.int32)
    columns = [pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat))]
    if id_arrays is not None:
        pieces, i = [], 0
        while i < len(rows):
            k, j0 = rows[i][0], rows[i][1]
            n = 1
            while i + n < len(rows) and rows[i + n][0] == k:
                n += 1
            pieces.append(id_arrays[k].slice(j0, n))
            i += n
        columns.insert(0, pa.concat_arrays(pieces) if pieces else pa.array([], pa.string()))
    return pa.record_batch(columns, schema=schema)


WRITERS = {"nanogpt": _write_nanogpt, "megatron": _write_megatron, "hf": _write_hf}
# What each format needs before anything is written (no .partial left by a refusal).
CHECKS = {"nanogpt": _check_nanogpt, "megatron": lambda shards: None, "hf": _check_hf}


# ---------------------------------------------------------------------------------------------
# The command


def export_shards(shards_dir: str | Path, output: str | Path, fmt: str, *,
                  overwrite: bool = False, progress: Progress | None = None,
                  chunk_tokens: int = CHUNK_TOKENS) -> dict:
    """Export the shards in ``shards_dir`` to ``output`` in format ``fmt``; returns the
    contents of ``export.json`` (format, files with sizes and sha256, documents and tokens per
    split, the tokenizer and the source manifest's sha256)."""
    from gristmill.pipelines import rundir

    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    try:
        shards = open_shards(shards_dir)
        for split in SPLITS:
            shards.arrays(split)  # map every shard now: a missing file fails before any write
    except ShardError as e:
        raise ExportError(str(e)) from None
    CHECKS[fmt](shards)
    out = os.fspath(output).rstrip("/") or os.fspath(output)
    info = {"gristmill": "shards export", "format": fmt}
    report = progress or (lambda n: None)
    with rundir.new_run_dir(out, [os.fspath(shards_dir)], overwrite, info,
                            complete_file=EXPORT_MANIFEST) as work:
        written = WRITERS[fmt](shards, Path(work), report, chunk_tokens)
        manifest = _export_manifest(shards, Path(work), fmt, written)
        tmp = Path(work) / f".{EXPORT_MANIFEST}.tmp"
        tmp.write_text(json.dumps(manifest, indent=2) + "\n")
        os.replace(tmp, Path(work) / EXPORT_MANIFEST)
    return manifest


def _export_manifest(shards: ShardSet, out: Path, fmt: str, written: dict) -> dict:
    files = []
    for group in written.values():
        for name in group:
            files.append({"file": name, "bytes": (out / name).stat().st_size,
                          "sha256": sha256_file(out / name)})
    splits = {split: {"documents": shards.num_documents(split), "tokens": shards.num_tokens(split),
                      "files": written[split]} for split in SPLITS}
    return {
        "export_version": EXPORT_VERSION,
        "format": fmt,
        "tokenizer": shards.manifest["tokenizer"],
        "eos_id": shards.eos_id,
        "eos_after_each_document": True,
        "ids": fmt == "hf" and all(shards.ids(split) is not None for split in SPLITS),
        "dtype": {"nanogpt": "uint16", "megatron": megatron_dtype(shards).name,
                  "hf": "int32"}[fmt],
        "splits": splits,
        "totals": {"documents": sum(s["documents"] for s in splits.values()),
                   "tokens": sum(s["tokens"] for s in splits.values())},
        "files": sorted(files, key=lambda f: f["file"]),
        "source_manifest_sha256": hashlib.sha256(
            (shards.root / MANIFEST).read_bytes()).hexdigest(),
    }
