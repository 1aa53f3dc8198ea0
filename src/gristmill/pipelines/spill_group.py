"""``SpillGroupByKey``: a GroupByKey whose values wait in sorted files, not in the runner.

Beam's local runners hold every shuffle in memory, so a GroupByKey over one small key per
document (the duplicate-id check's (id, origin) pairs, exact dedup's (text hash, id), MinHash's
band entries) still costs memory in proportion to the corpus: tens to hundreds of bytes of
Python objects per document, several times over. This transform is the writers' external sort
(``write_shards``) made generic: bundles write their pairs as sorted runs, one file per
partition (a hash of the key), only the run paths are grouped, and each partition merges its
runs and emits the groups of at least ``min_size`` values. Memory is one bundle's buffer
(``RUN_PAIRS``) and one group at a time, whatever the corpus.

Input elements are (key, value) pairs, or lists of them (a step that makes many pairs per
document emits one list, saving Beam's per-element cost). Keys are ``str`` or ``bytes``
(``key_type``), values ``str``. Output: (key, values sorted) per group.
"""

from __future__ import annotations

import heapq
import itertools
import uuid
from collections.abc import Iterator

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from gristmill.pipelines.beam_util import NAMESPACE, delete_file, in_global_window
from gristmill.pipelines.readers import file_size, parquet_batches

# A bundle writes its buffered pairs out as sorted runs at this many pairs.
RUN_PAIRS = 200_000
PARTITIONS = 16
_SPENT = "spent"


def _schema(key_type: str) -> pa.Schema:
    return pa.schema([("key", pa.binary() if key_type == "bytes" else pa.string()), ("value", pa.string())])


def partition_of(key: str | bytes, partitions: int) -> int:
    raw = key if isinstance(key, bytes) else key.encode("utf-8", "surrogatepass")
    return xxhash.xxh64_intdigest(raw) % partitions


class _RunsFn(beam.DoFn):
    """Pairs -> sorted run files, one per partition per flush; emits (partition, path)."""

    def __init__(self, tmp_dir: str, prefix: str, partitions: int, key_type: str) -> None:
        self.tmp_dir, self.prefix, self.partitions, self.key_type = tmp_dir, prefix, partitions, key_type
        self.spilled = Metrics.counter(NAMESPACE, "spill.bytes")

    def start_bundle(self) -> None:
        self.parts: dict[int, list[tuple]] = {}
        self.count = 0

    def process(self, element):
        pairs = element if isinstance(element, list) else (element,)
        for key, value in pairs:
            self.parts.setdefault(partition_of(key, self.partitions), []).append((key, value))
        self.count += len(pairs)
        if self.count >= RUN_PAIRS:
            yield from self._flush()

    def _flush(self) -> list[tuple[int, str]]:
        out = []
        schema = _schema(self.key_type)
        for part, pairs in sorted(self.parts.items()):
            pairs.sort()
            path = FileSystems.join(self.tmp_dir, f"{self.prefix}-p{part:03d}-{uuid.uuid4().hex}.parquet")
            table = pa.table({"key": [k for k, _ in pairs], "value": [v for _, v in pairs]}, schema=schema)
            with FileSystems.create(path) as f:
                pq.write_table(table, f, compression="lz4")
            self.spilled.inc(file_size(path))
            out.append((part, path))
        self.parts, self.count = {}, 0
        return out

    def finish_bundle(self):
        for kv in self._flush():
            yield in_global_window(kv)


def _read_run(path: str) -> Iterator[tuple]:
    for batch in parquet_batches(path, batch_size=8192):
        yield from zip(batch.column(0).to_pylist(), batch.column(1).to_pylist(), strict=True)


class _MergeFn(beam.DoFn):
    """One partition: merge its runs, emit each group of at least ``min_size`` values, then
    name the runs as spent."""

    def __init__(self, min_size: int) -> None:
        self.min_size = min_size

    def process(self, kv):
        _, runs = kv
        runs = sorted(runs)
        merged = heapq.merge(*(_read_run(r) for r in runs))
        for key, group in itertools.groupby(merged, key=lambda p: p[0]):
            values = [v for _, v in group]
            if len(values) >= self.min_size:
                yield key, values
        for r in runs:
            yield beam.pvalue.TaggedOutput(_SPENT, r)


class SpillGroupByKey(beam.PTransform):
    """(key, value) pairs -> (key, sorted values) for each key with at least ``min_size``
    values, grouped through sorted run files ``<tmp_dir>/<prefix>-*.parquet`` (deleted once
    merged; the directory is the caller's)."""

    def __init__(self, tmp_dir: str, prefix: str, min_size: int = 1, key_type: str = "str",
                 partitions: int = PARTITIONS) -> None:
        super().__init__()
        self.tmp_dir, self.prefix, self.min_size = tmp_dir, prefix, min_size
        self.key_type, self.partitions = key_type, partitions

    def expand(self, pairs):
        merged = (
            pairs
            | "SortedRuns" >> beam.ParDo(_RunsFn(self.tmp_dir, self.prefix, self.partitions, self.key_type))
            | "GroupRuns" >> beam.GroupByKey()
            | "MergeRuns" >> beam.ParDo(_MergeFn(self.min_size)).with_outputs(_SPENT, main="groups")
        )
        merged[_SPENT] | "CommitMerge" >> beam.Reshuffle() | "DeleteRuns" >> beam.Map(delete_file)
        return merged.groups
