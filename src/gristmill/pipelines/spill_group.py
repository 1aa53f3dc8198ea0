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
(``key_type``), values ``str`` or ``bytes`` (``value_type``). Output: (key, values sorted) per group.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import uuid
from collections.abc import Callable, Iterable, Iterator

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from gristmill.pipelines.beam_util import NAMESPACE, delete_file, in_global_window
from gristmill.pipelines.heap import trim_heap
from gristmill.pipelines.readers import file_size, parquet_batches

# A bundle writes its buffered pairs out as sorted runs at this many pairs.
RUN_PAIRS = 200_000
PARTITIONS = 16
# A merge reads at most this many runs at once (each a row group at a time); more runs are
# first merged in groups of this many into intermediate runs. Without the bound, the memory of
# a merge would grow with the number of runs, that is with the corpus. An open Parquet run
# costs ~6 MB (its reader, a decoded row group, the rows as Python objects; measured on the
# writers' runs of 512 pickled documents), so 16 keep a merge near 100 MB; at 64 the kept
# writer's merge was the peak of a 300k-document run (+250 MB per worker).
MERGE_FAN_IN = 16
_ROW_GROUP = 8192
_SPENT = "spent"


def bounded_merge(runs: list[str], read: Callable[[str], Iterator], write: Callable[[Iterator, str], None],
                  fan_in: int | None = None) -> Iterator:
    """Merge sorted run files (``read(path)`` -> sorted items) with at most ``fan_in`` open at
    once: while there are more, groups of ``fan_in`` are merged into intermediate runs
    (``write(items, path)``, next to the first run of the group), deleted as soon as they are
    read. The caller's runs are left alone (they are deleted once the bundle commits). When
    the merge ends, glibc's free heap is given back (``heap.trim_heap``): every merge of the
    pipeline (writers, grouped keys, token shards) comes through here."""
    fan_in = fan_in or MERGE_FAN_IN
    mine: list[str] = []
    try:
        while len(runs) > fan_in:
            merged = []
            for i in range(0, len(runs), fan_in):
                group = runs[i:i + fan_in]
                path = f"{group[0]}.m{uuid.uuid4().hex[:8]}"
                write(heapq.merge(*(read(r) for r in group)), path)
                merged.append(path)
                for r in group:
                    if r in mine:
                        delete_file(r)
                        mine.remove(r)
                mine.append(path)
            runs = merged
        yield from heapq.merge(*(read(r) for r in runs))
    finally:
        for r in mine:
            with contextlib.suppress(Exception):
                delete_file(r)
        trim_heap()  # the merge's buffers are freed: give them back (heap.py)


def _schema(key_type: str, value_type: str = "str") -> pa.Schema:
    def arrow(t: str) -> pa.DataType:
        return pa.binary() if t == "bytes" else pa.string()

    return pa.schema([("key", arrow(key_type)), ("value", arrow(value_type))])


def partition_of(key: str | bytes, partitions: int) -> int:
    raw = key if isinstance(key, bytes) else key.encode("utf-8", "surrogatepass")
    return xxhash.xxh64_intdigest(raw) % partitions


class _RunsFn(beam.DoFn):
    """Pairs -> sorted run files, one per partition per flush; emits (partition, path)."""

    def __init__(self, tmp_dir: str, prefix: str, partitions: int, key_type: str,
                 value_type: str = "str") -> None:
        self.tmp_dir, self.prefix, self.partitions, self.key_type = tmp_dir, prefix, partitions, key_type
        self.value_type = value_type
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
        schema = _schema(self.key_type, self.value_type)
        for part, pairs in sorted(self.parts.items()):
            pairs.sort()
            path = FileSystems.join(self.tmp_dir, f"{self.prefix}-p{part:03d}-{uuid.uuid4().hex}.parquet")
            _write_run(pairs, path, schema)
            self.spilled.inc(file_size(path))
            out.append((part, path))
        self.parts, self.count = {}, 0
        return out

    def finish_bundle(self):
        for kv in self._flush():
            yield in_global_window(kv)


def _write_run(pairs: Iterable[tuple], path: str, schema: pa.Schema) -> None:
    """Sorted pairs as a Parquet run in row groups of ``_ROW_GROUP`` (a merge holds one row
    group of each run it reads), written a row group at a time."""
    with FileSystems.create(path) as f, pq.ParquetWriter(f, schema, compression="lz4") as w:
        it = iter(pairs)
        while chunk := list(itertools.islice(it, _ROW_GROUP)):
            w.write_table(pa.table({"key": [k for k, _ in chunk], "value": [v for _, v in chunk]}, schema=schema))


def _read_run(path: str) -> Iterator[tuple]:
    for batch in parquet_batches(path, batch_size=_ROW_GROUP):
        yield from zip(batch.column(0).to_pylist(), batch.column(1).to_pylist(), strict=True)


class _MergeFn(beam.DoFn):
    """One partition: merge its runs, emit each group of at least ``min_size`` values, then
    name the runs as spent."""

    def __init__(self, min_size: int, key_type: str, value_type: str = "str") -> None:
        self.min_size, self.key_type, self.value_type = min_size, key_type, value_type

    def process(self, kv):
        _, runs = kv
        runs = sorted(runs)
        schema = _schema(self.key_type, self.value_type)
        merged = bounded_merge(runs, _read_run, lambda items, path: _write_run(items, path, schema))
        for key, group in itertools.groupby(merged, key=lambda p: p[0]):
            values = [v for _, v in group]
            if len(values) >= self.min_size:
                yield key, values
        for r in runs:
            yield beam.pvalue.TaggedOutput(_SPENT, r)


class SpillGroupByKey(beam.PTransform):
    """(key, value) pairs -> (key, sorted values) for each key with at least ``min_size``
    values, grouped through sorted run files ``<tmp_dir>/<prefix>-*.parquet`` (deleted once
    merged; the directory is the caller's). ``value_type`` "bytes" takes binary values.

    The input may be a tuple of PCollections (a join: tag the values). They are not flattened
    first: each gets its own sorted-run step, fused into the stage that made its pairs, and only
    run paths meet (see ``group_run_paths``)."""

    def __init__(self, tmp_dir: str, prefix: str, min_size: int = 1, key_type: str = "str",
                 partitions: int = PARTITIONS, value_type: str = "str") -> None:
        super().__init__()
        self.tmp_dir, self.prefix, self.min_size = tmp_dir, prefix, min_size
        self.key_type, self.partitions, self.value_type = key_type, partitions, value_type

    def expand(self, pairs):
        runs_fn = _RunsFn(self.tmp_dir, self.prefix, self.partitions, self.key_type, self.value_type)
        merged = (
            group_run_paths(pairs, runs_fn)
            | "MergeRuns" >> beam.ParDo(_MergeFn(self.min_size, self.key_type, self.value_type)).with_outputs(
                _SPENT, main="groups")
        )
        merged[_SPENT] | "CommitMerge" >> beam.Reshuffle() | "DeleteRuns" >> beam.Map(delete_file)
        return merged.groups


def group_run_paths(inputs, runs_fn: beam.DoFn):
    """Records of one PCollection or a tuple of them -> (partition, [run paths]) through
    ``runs_fn`` (which emits (partition, path)); applied inside a PTransform's ``expand``.

    A Flatten of collections made in different stages is a stage of its own, so the local
    runner would hold every record there; instead each input is written to runs inside its own
    stage and only the paths are flattened. Each input's paths are grouped before the Flatten:
    a stage with a side input feeding a Flatten straight into a shuffle is never scheduled by
    the local runner (Beam 2.77; see pipelines/dedup.py)."""
    inputs = inputs if isinstance(inputs, (tuple, list)) else (inputs,)
    if len(inputs) == 1:
        return inputs[0] | "SortedRuns" >> beam.ParDo(runs_fn) | "GroupRuns" >> beam.GroupByKey()
    lists = [
        pc
        | f"SortedRuns{i}" >> beam.ParDo(runs_fn)
        | f"GroupRuns{i}" >> beam.GroupByKey()
        | f"RunList{i}" >> beam.MapTuple(lambda part, paths: (part, list(paths)))
        for i, pc in enumerate(inputs)
    ]
    return (tuple(lists) | "FlattenRunLists" >> beam.Flatten()
            | "GroupRuns" >> beam.GroupByKey()
            | "JoinRunLists" >> beam.MapTuple(lambda part, paths: (part, [p for ps in paths for p in ps])))
