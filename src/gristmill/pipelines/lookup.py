"""``BuildLookup``: a dict side input that lives in files, for maps the size of the duplicates.

Dedup's decisions (exact groups, candidate ids, near-duplicate clusters) have one entry per
document that has a duplicate: a fifth of a web corpus or more. As ``AsDict`` side inputs the
local runner held each of them and every worker built a Python dict of it (~200-300 bytes an
entry, per process), so they grew with the corpus. Here the entries are written as sorted runs
where they are made (``SpillGroupByKey``'s runs), each partition is merged into one lookup file,
and only the files' paths travel as a side input. A worker opens the files once and keeps
16 bytes per entry in memory (a sorted array of key hashes and one of record offsets); a value
is read from the file with one ``pread`` when a key hits.

No library does this: Beam's side inputs are in-memory, and an embedded key-value store
(LMDB, SQLite) would add a dependency and a build step for what is a sorted array and a
binary search.

Lookup file layout, per partition: ``<name>.data``, records ``u32 key length, key, u32 value
length, value`` in key-hash order; ``<name>.index``, little-endian ``u64`` key hashes (sorted)
followed by ``u64`` record offsets (one more than the keys: the end).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import struct
import uuid
from array import array
from collections.abc import Callable, Iterable

import apache_beam as beam
import numpy as np
import xxhash
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from gristmill.pipelines.beam_util import NAMESPACE, delete_file
from gristmill.pipelines.readers import file_size
from gristmill.pipelines.spill_group import (
    PARTITIONS,
    _read_run,
    _RunsFn,
    _schema,
    _write_run,
    bounded_merge,
    group_run_paths,
    partition_of,
)

_SPENT = "spent"
_U32 = struct.Struct("<I")
# Values of one key are reduced to the stored bytes (or None: no entry) by the caller's function.
Reduce = Callable[[str, list[bytes]], bytes | None]


def _sort_key(key: str) -> bytes:
    """Run key: the key's 64-bit hash (big-endian, so bytes order is hash order), then the key,
    so a partition's merge comes out in the order the index is searched in."""
    raw = key.encode("utf-8", "surrogatepass")
    return xxhash.xxh64_intdigest(raw).to_bytes(8, "big") + raw


def _keyed(element):
    pairs = element if isinstance(element, list) else (element,)
    return [(_sort_key(k), v) for k, v in pairs]


class _WritePartFn(beam.DoFn):
    """One partition: merge its runs, reduce each key's values, write the lookup file pair;
    emits (partition, data path), then names the runs as spent."""

    def __init__(self, tmp_dir: str, prefix: str, reduce: Reduce) -> None:
        self.tmp_dir, self.prefix, self.reduce = tmp_dir, prefix, reduce
        self.entries = Metrics.counter(NAMESPACE, f"lookup.{prefix}.entries")
        self.spilled = Metrics.counter(NAMESPACE, "spill.bytes")

    def process(self, kv):
        part, runs = kv
        runs = sorted(runs)
        schema = _schema("bytes", "bytes")
        merged = bounded_merge(runs, _read_run, lambda items, path: _write_run(items, path, schema))
        base = FileSystems.join(self.tmp_dir, f"{self.prefix}-lookup-p{part:03d}-{uuid.uuid4().hex}")
        hashes, offsets = array("Q"), array("Q", [0])
        with FileSystems.create(base + ".data") as f:
            for skey, group in itertools.groupby(merged, key=lambda p: p[0]):
                raw = skey[8:]
                value = self.reduce(raw.decode("utf-8", "surrogatepass"), [v for _, v in group])
                if value is None:
                    continue
                f.write(_U32.pack(len(raw)) + raw + _U32.pack(len(value)) + value)
                hashes.append(int.from_bytes(skey[:8], "big"))
                offsets.append(offsets[-1] + 8 + len(raw) + len(value))
        with FileSystems.create(base + ".index") as f:
            f.write(hashes.tobytes() + offsets.tobytes())
        self.entries.inc(len(hashes))
        self.spilled.inc(file_size(base + ".data") + file_size(base + ".index"))
        yield part, base
        for r in runs:
            yield beam.pvalue.TaggedOutput(_SPENT, r)


class BuildLookup(beam.PTransform):
    """(str key, bytes value) pairs (or lists of them; one PCollection or a tuple) -> a
    one-element PCollection: the sorted [(partition, file base)] of a lookup, to pass as
    ``beam.pvalue.AsSingleton`` and open with :func:`open_lookup`.

    ``reduce(key, values)`` turns a key's values (sorted bytes) into the stored value, or None
    to store nothing. Files go to ``tmp_dir`` (the caller's; deleted with it).
    """

    def __init__(self, tmp_dir: str, prefix: str, reduce: Reduce, partitions: int = PARTITIONS) -> None:
        super().__init__()
        self.tmp_dir, self.prefix, self.reduce, self.partitions = tmp_dir, prefix, reduce, partitions

    def expand(self, pairs):
        inputs = pairs if isinstance(pairs, (tuple, list)) else (pairs,)
        keyed = tuple(pc | f"HashKeys{i}" >> beam.Map(_keyed) for i, pc in enumerate(inputs))
        runs_fn = _RunsFn(self.tmp_dir, self.prefix, self.partitions, "bytes", "bytes")
        parts = (
            group_run_paths(keyed, runs_fn)
            | "WriteLookup" >> beam.ParDo(_WritePartFn(self.tmp_dir, self.prefix, self.reduce)).with_outputs(
                _SPENT, main="parts")
        )
        parts[_SPENT] | "CommitLookup" >> beam.Reshuffle() | "DeleteLookupRuns" >> beam.Map(delete_file)
        return (parts.parts | "LookupParts" >> beam.combiners.ToList()
                | "SortParts" >> beam.Map(lambda ps: sorted(ps)))


class FileLookup:
    """A built lookup, opened: ``get(key)`` -> the stored bytes or None.

    Memory: the hashes and offsets (16 bytes an entry). Local files are read with ``pread``;
    a remote file (``gs://``...) is read into memory whole when opened.
    """

    def __init__(self, parts: Iterable[tuple[int, str]], partitions: int = PARTITIONS) -> None:
        self.partitions = partitions
        self.parts: dict[int, tuple[np.ndarray, np.ndarray, Callable[[int, int], bytes]]] = {}
        self._fds: list[int] = []
        for part, base in parts:
            with FileSystems.open(base + ".index") as f:
                index = np.frombuffer(f.read(), dtype="<u8")
            n = (len(index) - 1) // 2
            self.parts[part] = (index[:n], index[n:], self._reader(base + ".data"))

    def _reader(self, path: str) -> Callable[[int, int], bytes]:
        if "://" not in path:
            fd = os.open(path, os.O_RDONLY)
            self._fds.append(fd)
            return lambda n, off: os.pread(fd, n, off)
        with FileSystems.open(path) as f:
            blob = f.read()
        return lambda n, off: blob[off:off + n]

    def __len__(self) -> int:
        return sum(len(h) for h, _, _ in self.parts.values())

    def get(self, key: str) -> bytes | None:
        skey = _sort_key(key)
        entry = self.parts.get(partition_of(skey, self.partitions))
        if entry is None:
            return None
        hashes, offsets, read = entry
        h = np.uint64(int.from_bytes(skey[:8], "big"))
        i = int(np.searchsorted(hashes, h))
        raw = skey[8:]
        while i < len(hashes) and hashes[i] == h:
            start, end = int(offsets[i]), int(offsets[i + 1])
            rec = read(end - start, start)
            (n,) = _U32.unpack_from(rec, 0)
            if rec[4:4 + n] == raw:
                return rec[8 + n:]
            i += 1
        return None

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    def close(self) -> None:
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds = []


_OPEN: dict[tuple, FileLookup] = {}


def open_lookup(parts: list[tuple[int, str]] | None) -> FileLookup:
    """The lookup for a side input's value, opened once per process (a DoFn sees the same
    value in every bundle). At most a few are kept open: a pipeline has three."""
    key = tuple(map(tuple, parts or ()))
    got = _OPEN.get(key)
    if got is None:
        if len(_OPEN) >= 8:
            old = _OPEN.pop(next(iter(_OPEN)))
            old.close()
        got = _OPEN[key] = FileLookup(key)
    return got


def delete_lookup(parts: list[tuple[int, str]] | None) -> None:
    """Remove a built lookup's files (a reader that has them open keeps reading until it closes)."""
    for _, base in parts or ():
        for suffix in (".data", ".index"):
            with contextlib.suppress(Exception):
                delete_file(base + suffix)
