"""Read a run directory a column at a time.

A run can hold millions of documents, so nothing here loads all texts at once: callers name the
columns they need (Parquet column projection) and get record batches of bounded size. Text is
only decoded where a length is needed (``pyarrow.compute.utf8_length``) or for the handful of
documents a report shows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gristmill.errors import UserError
from gristmill.schemas import OUTPUT_KINDS

BATCH_ROWS = 16_384  # ~30 MB of text per batch at 2 KB/doc: memory stays flat with run size


class RunDirError(UserError, ValueError):
    """The path is not a readable gristmill run directory."""


@dataclass
class RunDir:
    """A pipeline output directory: ``kept/``, ``rejected/``, ``errors/``, ``summary.json``."""

    path: Path
    summary: dict[str, Any] = field(default_factory=dict)
    manifest: dict[str, Any] | None = None

    @classmethod
    def open(cls, path: str | Path) -> RunDir:
        p = Path(path)
        if not p.is_dir():
            raise RunDirError(f"run directory not found: {p} (give the --output of `gristmill run`)")
        summary_path = p / "summary.json"
        if not summary_path.exists() and not (p / "kept").is_dir():
            raise RunDirError(
                f"{p} is not a gristmill run directory: it has neither summary.json nor kept/"
            )
        summary: dict[str, Any] = {}
        if summary_path.exists():
            try:
                summary = json.loads(summary_path.read_text())
            except json.JSONDecodeError as e:
                raise RunDirError(f"{summary_path}: invalid JSON ({e}); re-run the pipeline") from None
        manifest = None
        mpath = p / "shards" / "manifest.json"
        if mpath.exists():
            try:
                manifest = json.loads(mpath.read_text())
            except json.JSONDecodeError:
                manifest = None  # a broken manifest only costs the report its token count
        return cls(path=p, summary=summary, manifest=manifest)

    # files -------------------------------------------------------------------------------
    def files(self, kind: str) -> list[Path]:
        """The Parquet files of one output kind, in a stable order (sorted names)."""
        if kind not in OUTPUT_KINDS:
            raise ValueError(f"kind must be one of {OUTPUT_KINDS}, got {kind!r}")
        d = self.path / kind
        return sorted(d.glob("*.parquet")) if d.is_dir() else []

    def columns(self, kind: str) -> list[str]:
        files = self.files(kind)
        return list(pq.read_schema(files[0]).names) if files else []

    def num_rows(self, kind: str) -> int:
        return sum(pq.ParquetFile(f).metadata.num_rows for f in self.files(kind))

    def iter_batches(
        self, kind: str, columns: Sequence[str], batch_rows: int = BATCH_ROWS
    ) -> Iterator[pa.RecordBatch]:
        """Stream record batches of only ``columns`` over every file of ``kind`` (a row group
        at a time: pyarrow's default ``pre_buffer`` would read a whole file first)."""
        for f in self.files(kind):
            pf = pq.ParquetFile(f, pre_buffer=False)
            missing = [c for c in columns if c not in pf.schema_arrow.names]
            if missing:
                raise RunDirError(f"{f}: missing columns {missing}; is it a {kind} file of this version?")
            yield from pf.iter_batches(batch_size=batch_rows, columns=list(columns))

    # small conveniences -----------------------------------------------------------------------
    @property
    def config(self) -> dict[str, Any]:
        return self.summary.get("config") or {}

    @property
    def filter_specs(self) -> list[dict[str, Any]]:
        """Configured filters in pipeline order: ``[{name, params, mode, registered}]``.

        ``name`` is the name the filter instance reports under (``fasttext`` with
        ``tag: spam`` reports as ``fasttext_spam``); ``registered`` is the config's name.
        """
        from gristmill.filters import instance_name

        return [
            {**s, "registered": s["name"], "name": instance_name(s["name"], s.get("params") or {})}
            for s in self.config.get("filters") or []
        ]

    @property
    def tokens(self) -> int | None:
        """Tokens in the run's shards: the shard manifest's total, else the copy of those
        totals the pipeline puts in summary.json; None when the run did not tokenize."""
        totals = (self.manifest or {}).get("totals") or self.summary.get("tokens") or {}
        t = totals.get("tokens") if isinstance(totals, dict) else None
        return int(t) if t is not None else None


def map_entries(arr: pa.Array) -> tuple[np.ndarray, pa.Array, np.ndarray]:
    """Flatten a ``metadata``/``scores`` column: (parent row index, keys, values) per entry.

    Takes schema 2's ``list<struct<key, value>>`` and schema 1's ``map<string, V>`` alike (a map
    is a list of key/value structs underneath), so reports and ``--compare`` read runs of
    either version. Works on sliced arrays (the children of a sliced list are not sliced, the
    offsets are); ``pc.list_parent_indices`` aborts on map arrays in pyarrow 25, hence the
    offsets.
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    offsets = arr.offsets.to_numpy()
    lo, hi = int(offsets[0]), int(offsets[-1])
    counts = np.diff(offsets)
    parents = np.repeat(np.arange(len(arr)), counts)
    entries = arr.values  # StructArray(key, value) for both a list of structs and a map
    return parents, entries.field(0).slice(lo, hi - lo), entries.field(1).slice(lo, hi - lo)


def text_lengths(arr: pa.Array) -> np.ndarray:
    """Characters (code points) per text, as int64; null texts count 0."""
    return pc.fill_null(pc.utf8_length(arr), 0).to_numpy(zero_copy_only=False).astype(np.int64)


def fetch_by_ids(run: RunDir, kind: str, ids: Iterable[str]) -> dict[str, dict]:
    """Full rows for a few ids. Reads the ``id`` column first and decodes the other columns
    only of row groups that hold a wanted id."""
    wanted = pa.array(sorted(set(ids)), type=pa.string())
    out: dict[str, dict] = {}
    if len(wanted) == 0:
        return out
    for f in run.files(kind):
        pf = pq.ParquetFile(f)
        for rg in range(pf.num_row_groups):
            id_col = pf.read_row_group(rg, columns=["id"]).column("id")
            mask = pc.is_in(id_col, value_set=wanted)
            if not pc.any(mask).as_py():
                continue
            table = pf.read_row_group(rg).filter(mask)
            for row in table.to_pylist():
                out.setdefault(row["id"], row)
        if len(out) == len(wanted):
            break
    return out
