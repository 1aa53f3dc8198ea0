"""Writing a run's records: ``WriteShards``, an external sort into Parquet shards.

Records are assigned to ``part-SSSSS-of-NNNNN.parquet`` by a hash of their key and sorted within
the shard, so the bytes depend only on the records (never on workers or bundle order). Bundles
write sorted runs to scratch files, only the run paths are grouped by shard, and each shard
merges its runs a row group at a time: no step holds a shard in memory and the runner never
buffers the records.
"""

from __future__ import annotations

import hashlib
import itertools
import pickle
import uuid
from collections.abc import Iterable, Iterator

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from gristmill.pipelines import progress
from gristmill.pipelines.beam_util import NAMESPACE, delete_file, in_global_window
from gristmill.pipelines.readers import file_size, parquet_batches
from gristmill.pipelines.spill_group import bounded_merge, group_run_paths
from gristmill.schemas import DOCUMENT_SCHEMA, ERROR_SCHEMA, REJECTION_SCHEMA

# kind -> (Arrow schema, shard/sort key of a record, record -> row)
ROW_FORMATS = {
    "kept": (DOCUMENT_SCHEMA, lambda r: r.id, lambda r: r.to_row()),
    "rejected": (REJECTION_SCHEMA, lambda r: r.doc.id, lambda r: r.to_row()),
    "errors": (ERROR_SCHEMA, lambda r: f"{r.input_file}\x00{r.line if r.line is not None else -1:012d}\x00{r.error_type}\x00{r.message}",
               lambda r: r.to_row()),
}


def shard_of(key: str, num_shards: int) -> int:
    """Deterministic shard assignment (independent of worker count and input order)."""
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big") % num_shards


# Scratch space of a run (sorted runs, dedup's spill files), removed when the pipeline ends.
TMP_DIR = "_tmp"
# A bundle sorts at most this many records (or bytes of pickled rows) in memory before writing
# them out as runs: a bound per worker and writer, whatever the corpus.
RUN_RECORDS = 50_000
RUN_BYTES = 16 << 20
RUN_ROW_GROUP = 512
ROW_GROUP = 4096
_RUN_SCHEMA = pa.schema([("key", pa.string()), ("row", pa.large_binary())])
_SPENT = "spent"


class _SortedRunsFn(beam.DoFn):
    """Records -> sorted run files, one per output shard per flush; emits (shard, run path).

    Each record becomes (key, pickled row); a bundle buffers at most ``RUN_RECORDS`` of them,
    sorts each shard's part and writes it under a fresh name (a retried bundle never collides
    with its failed attempt). Only the paths go through the shuffle that follows.
    """

    def __init__(self, kind: str, tmp_dir: str, num_shards: int) -> None:
        self.kind, self.tmp_dir, self.num_shards = kind, tmp_dir, num_shards
        self.spilled = Metrics.counter(NAMESPACE, "spill.bytes")

    def start_bundle(self) -> None:
        self.parts: dict[int, list[tuple[str, bytes]]] = {}
        self.count = self.bytes = 0

    def process(self, record):
        _, key, to_row = ROW_FORMATS[self.kind]
        k = key(record)
        row = pickle.dumps(to_row(record), protocol=pickle.HIGHEST_PROTOCOL)
        self.parts.setdefault(shard_of(k, self.num_shards), []).append((k, row))
        self.count += 1
        self.bytes += len(row)
        if self.count >= RUN_RECORDS or self.bytes >= RUN_BYTES:
            yield from self._flush()

    def _flush(self) -> list[tuple[int, str]]:
        out = []
        for shard, items in sorted(self.parts.items()):
            items.sort()  # by key; equal keys (possible for errors) by the row bytes
            path = FileSystems.join(self.tmp_dir, f"{self.kind}-{shard:05d}-{uuid.uuid4().hex}.parquet")
            _write_run(items, path)
            self.spilled.inc(file_size(path))
            out.append((shard, path))
        self.parts, self.count, self.bytes = {}, 0, 0
        return out

    def finish_bundle(self):
        for kv in self._flush():
            yield in_global_window(kv)


def _write_run(items: Iterable[tuple[str, bytes]], path: str) -> None:
    """Sorted (key, pickled row) pairs as a Parquet run in row groups of ``RUN_ROW_GROUP`` rows
    (a merge holds one row group of each run it reads, so they are small)."""
    with FileSystems.create(path) as f, pq.ParquetWriter(f, _RUN_SCHEMA, compression="lz4") as w:
        it = iter(items)
        while chunk := list(itertools.islice(it, RUN_ROW_GROUP)):
            w.write_table(pa.table({"key": [k for k, _ in chunk], "row": [r for _, r in chunk]}, schema=_RUN_SCHEMA))


def _read_run(path: str) -> Iterator[tuple[str, bytes]]:
    for batch in parquet_batches(path, batch_size=RUN_ROW_GROUP):
        yield from zip(batch.column(0).to_pylist(), batch.column(1).to_pylist(), strict=True)


class _MergeRunsFn(beam.DoFn):
    """One shard: merge its sorted runs into ``part-SSSSS-of-NNNNN.parquet``, streaming (a
    row group at a time, at most ``MERGE_FAN_IN`` runs open: ``bounded_merge``), then name the
    runs as spent."""

    def __init__(self, kind: str, out_dir: str, num_shards: int, compression: str) -> None:
        self.kind = kind
        self.out_dir = out_dir
        self.num_shards = num_shards
        self.compression = None if compression == "none" else compression

    def process(self, kv):
        shard, runs = kv
        runs = sorted(runs)
        schema = ROW_FORMATS[self.kind][0]
        path = FileSystems.join(self.out_dir, self.kind, f"part-{shard:05d}-of-{self.num_shards:05d}.parquet")
        n = 0
        with FileSystems.create(path) as f:
            writer = pq.ParquetWriter(f, schema, compression=self.compression)
            rows: list[dict] = []
            for _, blob in bounded_merge(runs, _read_run, _write_run):
                rows.append(pickle.loads(blob))
                if len(rows) == ROW_GROUP:
                    writer.write_table(pa.Table.from_pylist(rows, schema=schema), row_group_size=ROW_GROUP)
                    progress.count(f"written.{self.kind}", len(rows))
                    n, rows = n + len(rows), []
            if rows:
                writer.write_table(pa.Table.from_pylist(rows, schema=schema), row_group_size=ROW_GROUP)
                progress.count(f"written.{self.kind}", len(rows))
                n += len(rows)
            writer.close()
        yield (self.kind, n)
        for r in runs:
            yield beam.pvalue.TaggedOutput(_SPENT, r)


class WriteShards(beam.PTransform):
    """Records -> ``<out_dir>/<kind>/part-SSSSS-of-NNNNN.parquet``, rows sorted by key.

    Shard = hash(key) mod N, then rows sorted within the shard, so the bytes written depend
    only on the records, not on worker count or bundle order (reruns are byte-identical).
    The sort is external: bundles write sorted runs under ``tmp_dir`` (default
    ``<out_dir>/_tmp/<kind>``), only their paths are grouped by shard, and each shard merges
    its runs; no step holds a shard, let alone the corpus, in memory, and the runner never
    buffers the records. Runs are deleted once their shard is written.
    """

    def __init__(self, kind: str, out_dir: str, num_shards: int, compression: str, tmp_dir: str | None = None) -> None:
        super().__init__()
        self.kind, self.out_dir, self.num_shards, self.compression = kind, out_dir, num_shards, compression
        self.tmp_dir = tmp_dir or FileSystems.join(out_dir, TMP_DIR, kind)

    def expand(self, records):
        """``records``: one PCollection, or a tuple of them (the rejections of every stage).

        A tuple is not flattened first: a Flatten of collections made in different stages is
        its own stage, so the local runner would buffer every record there (the rejections of
        a whole run: ~1.5 KB each, growing with the corpus). Each input gets its own sorted-run
        step instead, fused into the stage that made its records; only run paths meet, grouped
        once per input and again per shard (``spill_group.group_run_paths``)."""
        n = self.num_shards
        grouped = group_run_paths(records, _SortedRunsFn(self.kind, self.tmp_dir, n))
        merged = grouped | "MergeRuns" >> beam.ParDo(
            _MergeRunsFn(self.kind, self.out_dir, n, self.compression)).with_outputs(_SPENT, main="written")
        merged[_SPENT] | "CommitShards" >> beam.Reshuffle() | "DeleteRuns" >> beam.Map(delete_file)
        return merged.written


def write_empty_kinds(out_dir: str, num_shards: int, compression: str) -> list[str]:
    """Give each output kind with no rows (``kept/``, ``rejected/``, ``errors/``) one zero-row
    Parquet file with its schema, so ``kept/*.parquet`` always matches and readers that glob
    a run (pandas, DuckDB, HF datasets) never fail on an empty result. Returns what it wrote."""
    written = []
    for kind, (schema, _, _) in ROW_FORMATS.items():
        pattern = FileSystems.join(out_dir, kind, "*.parquet")
        if FileSystems.match([pattern])[0].metadata_list:
            continue
        path = FileSystems.join(out_dir, kind, f"part-00000-of-{num_shards:05d}.parquet")
        with FileSystems.create(path) as f:
            pq.write_table(schema.empty_table(), f, compression=None if compression == "none" else compression)
        written.append(path)
    return written
