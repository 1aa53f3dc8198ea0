"""Token shards: Arrow IPC files of token ids plus a manifest, the trainer's input.

Layout of a shards directory::

    manifest.json             what is inside (schema below), written last
    train-00000.arrow         one column ``tokens`` (uint16, or uint32 for vocabularies
    validation-00000.arrow    over 65536 ids), ONE record batch, uncompressed
    train-00000.ids.arrow     one column ``id`` (string): the documents' ids, in the shard's
                              order (the manifest entry's ``ids_file``)

Each document's ids are followed by EOS. The ids files are optional for readers (shards
written before they existed have none): the training path never opens them; exports use them
to label documents. Uncompressed single-batch files mean a memory-mapped
read gives the whole shard as one zero-copy numpy array, at any corpus size.

Determinism: a document's split comes from a hash of its id (``val_fraction``); its shard from
another hash of its id (the number of shards per split is its token total divided by
``shard_tokens``, rounded up); inside a shard documents are sorted by id. The same documents
give byte-identical shards and manifest whatever order they arrive in or however many workers
run. The plain-Python writer here and the Beam transform (``gristmill.pipelines.tokenize``)
share these functions and produce the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import pyarrow as pa
import xxhash

from gristmill.errors import UserError

SCHEMA_VERSION = "1"
MANIFEST = "manifest.json"
SPLITS = ("train", "validation")
COLUMN = "tokens"
SHARD_NAME = re.compile(r"^(train|validation)-(\d{5})\.arrow$")
IDS_NAME = re.compile(r"^(train|validation)-(\d{5})\.ids\.arrow$")
IDS_COLUMN = "id"
DEFAULT_SHARD_TOKENS = 50_000_000
DEFAULT_VAL_FRACTION = 0.01


class ShardError(UserError, ValueError):
    """A shards directory that does not match its manifest (or has none)."""


# ---------------------------------------------------------------------------------------------
# Deterministic placement


def token_dtype(vocab_size: int) -> np.dtype:
    """uint16 when every id fits (vocab_size <= 65536), else uint32."""
    return np.dtype(np.uint16) if vocab_size <= 1 << 16 else np.dtype(np.uint32)


def split_of(doc_id: str, val_fraction: float, seed: int = 0) -> str:
    """"validation" for a ``val_fraction`` share of ids (by a 64-bit hash), else "train"."""
    if val_fraction <= 0:
        return "train"
    h = xxhash.xxh64_intdigest(doc_id.encode("utf-8"), seed=seed)
    return "validation" if h < val_fraction * 2.0**64 else "train"


def num_shards_for(total_tokens: int, shard_tokens: int) -> int:
    """How many hash buckets a split with ``total_tokens`` tokens is cut into."""
    return max(1, math.ceil(total_tokens / shard_tokens))


def bucket_of(doc_id: str, num_buckets: int, seed: int = 0) -> int:
    """A document's bucket (shard before renumbering): a hash independent of the split's."""
    if num_buckets == 1:
        return 0
    return xxhash.xxh64_intdigest(b"shard:" + doc_id.encode("utf-8"), seed=seed) % num_buckets


# ---------------------------------------------------------------------------------------------
# Files


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_token_file(path: str | Path, tokens: np.ndarray) -> str:
    """Write ``tokens`` as a one-batch, uncompressed Arrow IPC file (via a temp name, then
    rename). Returns the file's sha256."""
    path = Path(path)
    return _write_column(path, COLUMN, pa.array(np.ascontiguousarray(tokens)))


def write_ids_file(path: str | Path, ids: Sequence[str]) -> str:
    """Write a shard's document ids as a one-batch Arrow IPC file with one ``id`` column (temp
    name, then rename). Returns the file's sha256."""
    return _write_column(Path(path), IDS_COLUMN, pa.array(list(ids), pa.string()))


def _write_column(path: Path, name: str, arr: pa.Array) -> str:
    """One non-null column as a one-batch Arrow IPC file, written to a temp name and renamed
    (a crash never leaves a half-written shard). Returns the file's sha256."""
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    schema = pa.schema([pa.field(name, arr.type, nullable=False)])
    try:
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
            writer.write_batch(pa.record_batch([arr], schema=schema))
        digest = sha256_file(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return digest


def read_ids_file(path: str | Path) -> pa.Array:
    """The ``id`` column of an ids file (memory-mapped)."""
    try:
        reader = pa.ipc.open_file(pa.memory_map(str(path), "r"))
        table = reader.read_all()
    except (pa.ArrowInvalid, OSError) as e:
        raise ShardError(f"{path}: not a readable Arrow IPC file ({e}); re-run tokenize") from None
    if table.schema.names != [IDS_COLUMN]:
        raise ShardError(f"{path}: expected one column {IDS_COLUMN!r}, got {table.schema.names}")
    return table.column(0).combine_chunks()


def shard_file_name(split: str, index: int) -> str:
    return f"{split}-{index:05d}.arrow"


def ids_file_name(split: str, index: int) -> str:
    return f"{split}-{index:05d}.ids.arrow"


def normalize_tokenizer_info(tokenizer_info: Any) -> dict:
    """The manifest's tokenizer entry from a Tokenizer (anything with ``info()``) or a dict
    with at least ``vocab_size`` and ``eos_id``."""
    info = tokenizer_info.info() if hasattr(tokenizer_info, "info") else dict(tokenizer_info)
    for key in ("vocab_size", "eos_id"):
        if not isinstance(info.get(key), int):
            raise ValueError(f"tokenizer info needs an integer {key!r}, got {info.get(key)!r}")
    if not 0 <= info["eos_id"] < info["vocab_size"]:
        raise ValueError(f"eos_id {info['eos_id']} is outside the vocabulary "
                         f"(vocab_size {info['vocab_size']})")
    return {"name": info.get("name"), "path": info.get("path"), "sha256": info.get("sha256"),
            "vocab_size": info["vocab_size"], "eos_id": info["eos_id"]}


def build_manifest(tokenizer: dict, shards: list[dict], *, shard_tokens: int,
                   val_fraction: float, seed: int) -> dict:
    """The manifest for ``shards`` (records with file, split, documents, tokens, sha256,
    max_id), in (split, file) order, with totals."""
    shards = sorted(shards, key=lambda s: (SPLITS.index(s["split"]), s["file"]))
    totals: dict[str, Any] = {"documents": 0, "tokens": 0}
    for split in SPLITS:
        docs = sum(s["documents"] for s in shards if s["split"] == split)
        toks = sum(s["tokens"] for s in shards if s["split"] == split)
        totals[split] = {"documents": docs, "tokens": toks}
        totals["documents"] += docs
        totals["tokens"] += toks
    return {
        "schema_version": SCHEMA_VERSION,
        "tokenizer": tokenizer,
        "dtype": token_dtype(tokenizer["vocab_size"]).name,
        "column": COLUMN,
        "eos_after_each_document": True,
        "shard_tokens": shard_tokens,
        "val_fraction": val_fraction,
        "seed": seed,
        "split_hash": "xxh64(id, seed) < val_fraction * 2^64 -> validation",
        "shards": shards,
        "totals": totals,
    }


def write_manifest(out_dir: str | Path, manifest: dict) -> Path:
    """Write manifest.json (temp name, then rename) and remove ``*.arrow`` shards it does not
    list, left over from an earlier run into the same directory."""
    out = Path(out_dir)
    path = out / MANIFEST
    tmp = out / f".{MANIFEST}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(tmp, path)
    listed = {s["file"] for s in manifest["shards"]} | {
        s["ids_file"] for s in manifest["shards"] if s.get("ids_file")}
    for f in out.glob("*.arrow"):
        if (SHARD_NAME.match(f.name) or IDS_NAME.match(f.name)) and f.name not in listed:
            f.unlink()
    return path


def finalize(out_dir: str | Path, pending: list[dict], tokenizer: dict, *, shard_tokens: int,
             val_fraction: float, seed: int) -> dict:
    """Rename written shards (records with split, bucket, tmp, documents, tokens, sha256,
    max_id, and ids_tmp/ids_sha256 for their ids file) to contiguous ``<split>-NNNNN.arrow``
    names in bucket order, then write the manifest."""
    out = Path(out_dir)
    shards = []
    for split in SPLITS:
        mine = sorted((p for p in pending if p["split"] == split), key=lambda p: p["bucket"])
        for i, p in enumerate(mine):
            name = shard_file_name(split, i)
            os.replace(p["tmp"], out / name)
            entry = {"file": name, "split": split, "documents": p["documents"],
                     "tokens": p["tokens"], "sha256": p["sha256"], "max_id": p["max_id"]}
            if p.get("ids_tmp"):
                os.replace(p["ids_tmp"], out / ids_file_name(split, i))
                entry["ids_file"] = ids_file_name(split, i)
                entry["ids_sha256"] = p["ids_sha256"]
            shards.append(entry)
    manifest = build_manifest(tokenizer, shards, shard_tokens=shard_tokens,
                              val_fraction=val_fraction, seed=seed)
    write_manifest(out, manifest)
    return manifest


def write_bucket(out_dir: str | Path, split: str, bucket: int,
                 docs: Iterable[tuple[str, Sequence[int] | np.ndarray | bytes]], eos_id: int,
                 dtype: np.dtype) -> dict:
    """Pack one bucket's documents into a temp-named shard file; the record for ``finalize``.

    ``max_id`` (the largest id in the file, EOS included) goes into the manifest so the trainer
    can check ids against its vocabulary without reading the shard. The documents' ids go to
    a second file, in the same (sorted) order, so exports can label each document."""
    arrays = sorted(((i, np.frombuffer(t, dtype=dtype) if isinstance(t, bytes) else np.asarray(t))
                     for i, t in docs), key=lambda d: d[0])
    total = sum(a.size + 1 for _, a in arrays)
    return write_sorted_bucket(out_dir, split, bucket, arrays, total, eos_id, dtype)


def write_sorted_bucket(out_dir: str | Path, split: str, bucket: int,
                        docs: Iterable[tuple[str, bytes | np.ndarray]], total_tokens: int,
                        eos_id: int, dtype: np.dtype) -> dict:
    """``write_bucket`` for documents that arrive sorted by id (token ids as arrays or raw
    ``dtype`` bytes), with their token count (EOS included) known in advance: the Beam
    transform's merge, and the body of ``write_bucket``.

    The shard's array is allocated once at its final size and filled as the documents stream
    by, so a writer holds one shard's tokens and its ids, not the documents as Python objects
    plus sorted copies (about 3x the shard before). Same bytes as ``write_bucket``."""
    out = np.empty(total_tokens, dtype=dtype)
    ids: list[str] = []
    pos = 0
    for doc_id, raw in docs:
        toks = np.frombuffer(raw, dtype=dtype) if isinstance(raw, bytes) else raw
        end = pos + toks.size
        if end >= total_tokens:
            raise ValueError(f"bucket {split}/{bucket}: more tokens than the {total_tokens} counted")
        out[pos:end] = toks
        out[end] = eos_id
        pos = end + 1
        ids.append(doc_id)
    if pos != total_tokens:
        raise ValueError(f"bucket {split}/{bucket}: {pos} tokens, {total_tokens} counted")
    if any(a > b for a, b in zip(ids, ids[1:], strict=False)):
        raise ValueError(f"bucket {split}/{bucket}: documents not sorted by id")
    return _bucket_files(out_dir, split, bucket, out, ids)


def _bucket_files(out_dir: str | Path, split: str, bucket: int, tokens: np.ndarray,
                  ids: list[str]) -> dict:
    """Write a bucket's packed tokens and sorted ids to temp-named files; its record."""
    tag = uuid.uuid4().hex[:8]
    tmp = Path(out_dir) / f".{split}-b{bucket:05d}.arrow.tmp-{tag}"
    digest = write_token_file(tmp, tokens)
    ids_tmp = Path(out_dir) / f".{split}-b{bucket:05d}.ids.arrow.tmp-{tag}"
    ids_digest = write_ids_file(ids_tmp, ids)
    return {"split": split, "bucket": bucket, "tmp": str(tmp), "documents": len(ids),
            "tokens": int(tokens.size), "sha256": digest,
            "max_id": int(tokens.max()) if tokens.size else None,
            "ids_tmp": str(ids_tmp), "ids_sha256": ids_digest}


def write_shards(docs: Iterable[Sequence[int] | np.ndarray | tuple[str, Sequence[int]]],
                 out_dir: str | Path, tokenizer_info: Any, *,
                 shard_tokens: int = DEFAULT_SHARD_TOKENS,
                 val_fraction: float = DEFAULT_VAL_FRACTION, seed: int = 0,
                 split: str | None = None) -> dict:
    """Write token shards and manifest without Beam; returns the manifest.

    ``docs`` yields token id sequences (EOS not included; it is appended here), or
    ``(doc_id, ids)`` pairs. Bare sequences get ids ``000000000000``, ``000000000001``... so
    they keep their order. ``split="train"`` (or "validation") puts every document in that split
    instead of hashing ids. ``tokenizer_info`` is a Tokenizer or a dict with at least
    ``vocab_size`` and ``eos_id``. Everything is held in memory: for large corpora use the Beam
    transform, which writes the same bytes.
    """
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if shard_tokens <= 0:
        raise ValueError(f"shard_tokens must be positive, got {shard_tokens}")
    tok = normalize_tokenizer_info(tokenizer_info)
    dtype = token_dtype(tok["vocab_size"])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    by_split: dict[str, list[tuple[str, np.ndarray]]] = {s: [] for s in SPLITS}
    for i, item in enumerate(docs):
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            doc_id, ids = item
        else:
            doc_id, ids = f"{i:012d}", item
        arr = np.asarray(ids, dtype=np.int64)
        if arr.ndim != 1:
            raise ValueError(f"document {doc_id}: token ids must be a flat sequence")
        if arr.size and (arr.min() < 0 or arr.max() >= tok["vocab_size"]):
            raise ValueError(f"document {doc_id}: token id outside [0, {tok['vocab_size']})")
        if arr.size and bool((arr == tok["eos_id"]).any()):
            raise ValueError(f"document {doc_id}: contains the EOS id {tok['eos_id']}; EOS "
                             f"separates documents and is appended by the writer")
        s = split or split_of(doc_id, val_fraction, seed)
        by_split[s].append((doc_id, arr))

    pending = []
    for s, items in by_split.items():
        if not items:
            continue
        n = num_shards_for(sum(a.size + 1 for _, a in items), shard_tokens)
        buckets: dict[int, list] = {}
        for doc_id, arr in items:
            buckets.setdefault(bucket_of(doc_id, n, seed), []).append((doc_id, arr))
        for b, members in sorted(buckets.items()):
            pending.append(write_bucket(out, s, b, members, tok["eos_id"], dtype))
    return finalize(out, pending, tok, shard_tokens=shard_tokens, val_fraction=val_fraction,
                    seed=seed)


# ---------------------------------------------------------------------------------------------
# Reading


def read_manifest(shards_dir: str | Path) -> dict:
    path = Path(shards_dir) / MANIFEST
    if not path.is_file():
        raise ShardError(f"{path} not found: not a shards directory (run `gristmill tokenize`)")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ShardError(f"{path} is not valid JSON: {e}") from None
    if not isinstance(manifest, dict):
        raise ShardError(f"{path}: expected a JSON object, got {type(manifest).__name__}")
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise ShardError(f"{path}: schema_version {manifest.get('schema_version')!r}, "
                         f"this gristmill reads {SCHEMA_VERSION!r}")
    for key in ("tokenizer", "dtype", "shards", "totals"):
        if key not in manifest:
            raise ShardError(f"{path}: missing key {key!r}")
    if not isinstance(manifest["shards"], list):
        raise ShardError(f"{path}: 'shards' must be a list of shard entries")
    return manifest


def shard_path(root: str | Path, name: Any) -> Path:
    """``root / name`` for a manifest ``file`` entry, refusing any that leaves ``root``.

    A manifest is data and may come from anywhere: an entry like ``../../etc/passwd``, an
    absolute path, or a symlink to a file outside the directory would make the reader open a
    file the shards directory does not own. Symlinks that stay inside are allowed."""
    if not isinstance(name, str) or not name or "\0" in name:
        raise ShardError(f"{Path(root) / MANIFEST}: shard file entry {name!r} is not a file name")
    pure = PurePath(name)
    if pure.is_absolute() or ".." in pure.parts:
        raise ShardError(f"{Path(root) / MANIFEST}: shard file {name!r} is outside the shards "
                         f"directory (absolute or '..'); a manifest names files inside it")
    path = Path(root) / pure
    if not path.resolve().is_relative_to(Path(root).resolve()):
        raise ShardError(f"{path}: a symlink to {path.resolve()}, outside the shards directory "
                         f"{root}; copy the file in instead")
    return path


def map_token_file(path: str | Path, dtype: np.dtype | None = None) -> np.ndarray:
    """The ``tokens`` column of one shard as a read-only numpy view of a memory map (no copy,
    nothing read until touched)."""
    try:
        reader = pa.ipc.open_file(pa.memory_map(str(path), "r"))
        if reader.num_record_batches != 1:
            raise ShardError(f"{path}: {reader.num_record_batches} record batches, expected 1")
        batch = reader.get_batch(0)
    except (pa.ArrowInvalid, OSError) as e:
        raise ShardError(f"{path}: not a readable Arrow IPC file ({e}); re-run tokenize") from None
    if batch.num_columns != 1 or batch.schema.names[0] != COLUMN:
        raise ShardError(f"{path}: expected one column {COLUMN!r}, got {batch.schema.names}")
    col = batch.column(0)
    if col.null_count:
        raise ShardError(f"{path}: {col.null_count} null token ids")
    # The data buffer viewed directly (Array.to_numpy imports pandas when it is installed:
    # seconds per process for nothing). Read-only, as the memory map is.
    typ = np.dtype(str(col.type))
    arr = np.frombuffer(col.buffers()[1], dtype=typ, count=len(col), offset=col.offset * typ.itemsize)
    arr.flags.writeable = False
    if dtype is not None and arr.dtype != dtype:
        raise ShardError(f"{path}: dtype {arr.dtype}, manifest says {dtype}")
    return arr


@dataclass
class ShardSet:
    """An opened shards directory: the manifest and memory-mapped token arrays."""

    root: Path
    manifest: dict
    _cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def vocab_size(self) -> int:
        return int(self.manifest["tokenizer"]["vocab_size"])

    @property
    def eos_id(self) -> int:
        return int(self.manifest["tokenizer"]["eos_id"])

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.manifest["dtype"])

    def shards(self, split: str) -> list[dict]:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        return [s for s in self.manifest["shards"] if s["split"] == split]

    def arrays(self, split: str) -> list[np.ndarray]:
        """One zero-copy, read-only array per shard of ``split``, in manifest order."""
        out = []
        for s in self.shards(split):
            arr = self._cache.get(s["file"])
            if arr is None:
                arr = map_token_file(shard_path(self.root, s["file"]), self.dtype)
                if arr.size != s["tokens"]:
                    raise ShardError(f"{self.root / s['file']}: {arr.size} tokens, manifest says "
                                     f"{s['tokens']}; run `gristmill shards verify {self.root}`")
                self._cache[s["file"]] = arr
            out.append(arr)
        return out

    def ids(self, split: str) -> list[pa.Array] | None:
        """The document ids of each shard of ``split`` (Arrow string arrays, in the shards'
        document order), or None when any shard has no ids file (written before they were)."""
        entries = self.shards(split)
        if any(not s.get("ids_file") for s in entries):
            return None
        out = []
        for s in entries:
            arr = read_ids_file(shard_path(self.root, s["ids_file"]))
            if len(arr) != int(s["documents"]):
                raise ShardError(f"{self.root / s['ids_file']}: {len(arr)} ids, manifest says "
                                 f"{s['documents']} documents; run `gristmill shards verify`")
            out.append(arr)
        return out

    def num_tokens(self, split: str) -> int:
        return sum(int(s["tokens"]) for s in self.shards(split))

    def num_documents(self, split: str) -> int:
        return sum(int(s["documents"]) for s in self.shards(split))


def open_shards(shards_dir: str | Path) -> ShardSet:
    """Open a shards directory written by ``gristmill tokenize``, ``gristmill run`` or
    ``write_shards``. Arrays are mapped lazily by ``arrays(split)``; every manifest entry must
    name a file inside the directory (checked here, before anything is opened)."""
    root = Path(shards_dir)
    manifest = read_manifest(root)
    expected = token_dtype(int(manifest["tokenizer"]["vocab_size"])).name
    if manifest["dtype"] != expected:
        raise ShardError(f"{root / MANIFEST}: dtype {manifest['dtype']} does not match vocab_size "
                         f"{manifest['tokenizer']['vocab_size']} (expected {expected})")
    for shard in manifest["shards"]:
        shard_path(root, shard.get("file") if isinstance(shard, dict) else shard)
        if isinstance(shard, dict) and shard.get("ids_file") is not None:
            shard_path(root, shard["ids_file"])
    return ShardSet(root=root, manifest=manifest)
