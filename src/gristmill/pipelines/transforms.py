"""The composite PTransforms of the pipeline spine: read, parse, normalize, filter, write.

Each step is a composite ``PTransform`` with a unique label, and rejections travel on tagged
outputs apart from crashes (errors). The per-document logic lives in plain Python modules
(``readers``, ``parse``, ``gristmill.filters``); these classes only route records.
"""

from __future__ import annotations

import hashlib
import heapq
import pickle
import uuid
from collections.abc import Iterable, Iterator

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils import shared
from apache_beam.utils.windowed_value import WindowedValue

from gristmill.config import InputConfig, NormalizeConfig
from gristmill.filters.chain import FilterChain
from gristmill.filters.normalize import normalize_text
from gristmill.filters.text_units import BATCH_CHARS, BATCH_ENTRIES
from gristmill.pipelines import progress
from gristmill.pipelines.parse import parse_or_error
from gristmill.pipelines.readers import (
    InputFile,
    RawRecord,
    bounded_raw,
    parquet_batches,
    read_file,
)
from gristmill.schemas import (
    DOCUMENT_SCHEMA,
    ERROR_SCHEMA,
    REJECTION_SCHEMA,
    Document,
    ErrorRecord,
    Rejection,
)

# The one namespace of every gristmill counter: run._metrics reads this one into summary.json.
NAMESPACE = "gristmill"
ERRORS = "errors"
REJECTED = "rejected"


def in_global_window(value) -> WindowedValue:
    """An element emitted from ``finish_bundle`` (which must say its window)."""
    return WindowedValue(value, GlobalWindow().max_timestamp(), [GlobalWindow()])


def copy_doc(doc: Document) -> Document:
    """A copy whose mutable fields can be changed without touching the input element."""
    return Document(doc.id, doc.text, doc.source, doc.url, dict(doc.metadata), dict(doc.scores))


def doc_error(doc: Document, stage: str, exc: BaseException) -> ErrorRecord:
    """A document a stage crashed on, as an error record (Beam's dead-letter pattern): the run
    goes on, the count still balances, and ``errors/`` says which document, where and why."""
    return text_error(doc.source, None, f"{stage}_exception",
                      f"document {doc.id!r}: {type(exc).__name__}: {exc}", doc.text)


def text_error(file: str, line: int | None, error_type: str, message: str, text: str) -> ErrorRecord:
    """An error record that keeps a bounded prefix of ``text`` (``readers.bounded_raw``)."""
    raw, note = bounded_raw(text.encode("utf-8", "replace"))
    return ErrorRecord(file, line, error_type, message + note, raw)


class ReadCorpus(beam.PTransform):
    """Files -> RawRecord | ErrorRecord, one element per input record.

    Files are spread over workers with a Reshuffle; within a file, records are read in order
    (line numbers are part of the default ids).
    """

    def __init__(self, files: list[InputFile], cfg: InputConfig) -> None:
        super().__init__()
        self.files = files
        self.cfg = cfg

    def expand(self, pbegin):
        fmt, limit = self.cfg.format, self.cfg.max_record_bytes
        return (
            pbegin
            | "ListFiles" >> beam.Create(self.files)
            | "SpreadFiles" >> beam.Reshuffle()
            | "ReadRecords" >> beam.FlatMap(read_file, fmt, limit)
        )


def origin(rec: RawRecord) -> str:
    """Where a record came from, as a string that sorts in input order within a file."""
    return f"{rec.file}#{rec.line if rec.line is not None else 0:012d}"


class _ParseFn(beam.DoFn):
    """RawRecord -> Document, or ErrorRecord (bad records, and every record of an id that is
    not the id's first record; ``repeated`` maps each id used more than once to the origin of
    its first record)."""

    def __init__(self, cfg: InputConfig) -> None:
        self.cfg = cfg
        self.bad = Metrics.counter(NAMESPACE, "errors")

    def process(self, rec: RawRecord | ErrorRecord, repeated: dict[str, str]):
        progress.count("read")
        out = rec if isinstance(rec, ErrorRecord) else parse_or_error(rec, self.cfg)
        if isinstance(out, Document) and out.id in repeated:
            first = repeated[out.id]
            if origin(rec) != first:
                out = text_error(rec.file, rec.line, "duplicate_id",
                                 f"id {out.id!r} already used by an earlier record ({first})", out.text)
        if isinstance(out, ErrorRecord):
            self.bad.inc()
            yield beam.pvalue.TaggedOutput(ERRORS, out)
        else:
            progress.count("parsed")
            yield out


def _id_and_origin(rec: RawRecord | ErrorRecord, cfg: InputConfig):
    progress.count("ids")
    if isinstance(rec, RawRecord):
        out = parse_or_error(rec, cfg)
        if isinstance(out, Document):
            yield out.id, origin(rec)


def _first_of_repeated(kv: tuple[str, Iterable[str]]):
    """(id, origin of its first record) for an id used by more than one record."""
    doc_id, origins = kv
    origins = sorted(origins)
    if len(origins) > 1:
        yield doc_id, origins[0]


class ParseRecords(beam.PTransform):
    """Input files -> Document (main), ErrorRecord (``errors``) and every record as read
    (``records``, to count the input).

    Ids must be unique: of the records sharing an id the first (in file and line order) is
    kept and the others become ``duplicate_id`` errors. To find them without shuffling the
    documents, the input is read twice: the first read sends only (id, origin) pairs through
    a GroupByKey, and the second parses with the ids that repeat (a side input bounded by
    their number) at hand. Parsing twice costs far less than moving every document through
    the runner, which on the local runner holds a shuffle in memory.
    """

    def __init__(self, files: list[InputFile], cfg: InputConfig) -> None:
        super().__init__()
        self.files = files
        self.cfg = cfg

    def expand(self, pbegin):
        repeated = (
            pbegin
            | "ReadForIds" >> ReadCorpus(self.files, self.cfg)
            | "IdAndOrigin" >> beam.FlatMap(_id_and_origin, self.cfg)
            | "GroupById" >> beam.GroupByKey()
            | "RepeatedIds" >> beam.FlatMap(_first_of_repeated)
        )
        records = pbegin | "Read" >> ReadCorpus(self.files, self.cfg)
        parsed = records | "Parse" >> beam.ParDo(
            _ParseFn(self.cfg), repeated=beam.pvalue.AsDict(repeated)
        ).with_outputs(ERRORS, main="docs")
        return {"docs": parsed.docs, ERRORS: parsed[ERRORS], "records": records}


class _NormalizeFn(beam.DoFn):
    def __init__(self, cfg: NormalizeConfig | None) -> None:
        self.cfg = cfg
        self.empty = Metrics.counter(NAMESPACE, "normalize.empty_text")

    def process(self, doc: Document):
        try:
            yield from self._normalize(doc)
        except Exception as e:  # one bad document is an error record, never a failed run
            yield beam.pvalue.TaggedOutput(ERRORS, doc_error(doc, "normalize", e))

    def _normalize(self, doc: Document):
        # Beam elements must not be mutated in place: work on a copy.
        doc = copy_doc(doc)
        if self.cfg is not None:
            doc.text = normalize_text(doc.text, nfc=self.cfg.nfc, strip_controls=self.cfg.strip_controls)
        if not doc.text.strip():
            self.empty.inc()
            yield beam.pvalue.TaggedOutput(
                REJECTED, Rejection(doc, stage="normalize", filter="normalize", reason="normalize.empty_text",
                                    value=0.0, threshold=1.0))
        else:
            yield doc


class Normalize(beam.PTransform):
    """NFC, newlines, control characters; documents left empty are rejected (never dropped)."""

    def __init__(self, cfg: NormalizeConfig | None) -> None:
        super().__init__()
        self.cfg = cfg

    def expand(self, docs):
        out = docs | "NormalizeText" >> beam.ParDo(_NormalizeFn(self.cfg)).with_outputs(REJECTED, ERRORS, main="docs")
        return {"docs": out.docs, REJECTED: out[REJECTED], ERRORS: out[ERRORS]}


class _FilterFn(beam.DoFn):
    """Runs the FilterChain over batches of a bundle's documents (``FilterChain.run_batch``:
    filter by filter, so each model stays in the CPU caches; same results as one document at
    a time). A batch is flushed at ``batch_docs`` documents or ``batch_chars`` characters of
    text (the shared per-text caches hold that much) and at the end of the bundle; outputs
    keep the input order. The built chain (fastText models included) is shared by all DoFn
    instances of a worker process through ``shared.Shared``, never pickled."""

    def __init__(self, specs: list[dict], digest: str, batch_docs: int = BATCH_ENTRIES,
                 batch_chars: int = BATCH_CHARS) -> None:
        self.specs = specs
        self.digest = digest
        self.batch_docs = batch_docs
        self.batch_chars = batch_chars
        self._shared = shared.Shared()
        self._chain: FilterChain | None = None
        self._counters: dict[str, object] = {}

    def setup(self):
        def build():
            chain = FilterChain.from_specs(self.specs)
            chain.setup()
            return chain

        self._chain = self._shared.acquire(build, tag=self.digest)

    def start_bundle(self):
        self._batch: list[Document] = []
        self._chars = 0

    def process(self, doc: Document):
        self._batch.append(doc)
        self._chars += len(doc.text)
        if len(self._batch) >= self.batch_docs or self._chars >= self.batch_chars:
            yield from self._flush()

    def finish_bundle(self):
        for out in self._flush():  # finish_bundle's outputs must carry their window
            if isinstance(out, beam.pvalue.TaggedOutput):
                yield beam.pvalue.TaggedOutput(out.tag, in_global_window(out.value))
            else:
                yield in_global_window(out)

    def _run(self, batch: list[Document]) -> list:
        """(document, rejection or None) per document; a batch that raises is run again one
        document at a time, and a document that still raises becomes an error record.
        Beam elements must not be mutated in place: the chain works on copies."""
        try:
            return self._chain.run_batch([copy_doc(d) for d in batch])
        except Exception:
            pass
        out = []
        for d in batch:
            try:
                out.extend(self._chain.run_batch([copy_doc(d)]))
            except Exception as e:  # one bad document is an error record, never a failed run
                out.append((doc_error(d, "filter", e), None))
        return out

    def _flush(self):
        batch, self._batch, self._chars = self._batch, [], 0
        for doc, rej in self._run(batch) if batch else ():
            if isinstance(doc, ErrorRecord):
                yield beam.pvalue.TaggedOutput(ERRORS, doc)
            elif rej is None:
                progress.count("filtered")
                yield doc
            else:
                c = self._counters.get(rej.reason)
                if c is None:
                    c = self._counters[rej.reason] = Metrics.counter(NAMESPACE, f"filter.{rej.reason}")
                c.inc()
                yield beam.pvalue.TaggedOutput(REJECTED, rej)


class ApplyFilters(beam.PTransform):
    """The configured filter chain; kept documents on the main output, rejections tagged."""

    def __init__(self, specs: list[dict]) -> None:
        super().__init__()
        self.specs = specs
        self.digest = hashlib.sha256(repr(specs).encode()).hexdigest()

    def expand(self, docs):
        if not self.specs:
            none = docs.pipeline | "NoFilterRejections" >> beam.Create([])
            return {"docs": docs, REJECTED: none, ERRORS: none}
        out = docs | "RunFilterChain" >> beam.ParDo(_FilterFn(self.specs, self.digest)).with_outputs(
            REJECTED, ERRORS, main="docs")
        return {"docs": out.docs, REJECTED: out[REJECTED], ERRORS: out[ERRORS]}


# --- writing ------------------------------------------------------------------------------

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
# A bundle sorts at most this many records in memory before writing them out as runs.
RUN_RECORDS = 50_000
ROW_GROUP = 4096
_RUN_SCHEMA = pa.schema([("key", pa.string()), ("row", pa.large_binary())])
_SPENT = "spent"


def delete_file(path: str) -> None:
    """Remove a scratch file (a sorted run, a dedup spill file) on any Beam filesystem."""
    FileSystems.delete([path])


class _SortedRunsFn(beam.DoFn):
    """Records -> sorted run files, one per output shard per flush; emits (shard, run path).

    Each record becomes (key, pickled row); a bundle buffers at most ``RUN_RECORDS`` of them,
    sorts each shard's part and writes it under a fresh name (a retried bundle never collides
    with its failed attempt). Only the paths go through the shuffle that follows.
    """

    def __init__(self, kind: str, tmp_dir: str, num_shards: int) -> None:
        self.kind, self.tmp_dir, self.num_shards = kind, tmp_dir, num_shards

    def start_bundle(self) -> None:
        self.parts: dict[int, list[tuple[str, bytes]]] = {}
        self.count = 0

    def process(self, record):
        _, key, to_row = ROW_FORMATS[self.kind]
        k = key(record)
        row = pickle.dumps(to_row(record), protocol=pickle.HIGHEST_PROTOCOL)
        self.parts.setdefault(shard_of(k, self.num_shards), []).append((k, row))
        self.count += 1
        if self.count >= RUN_RECORDS:
            yield from self._flush()

    def _flush(self) -> list[tuple[int, str]]:
        out = []
        for shard, items in sorted(self.parts.items()):
            items.sort()  # by key; equal keys (possible for errors) by the row bytes
            path = FileSystems.join(self.tmp_dir, f"{self.kind}-{shard:05d}-{uuid.uuid4().hex}.parquet")
            table = pa.table({"key": [k for k, _ in items], "row": [r for _, r in items]}, schema=_RUN_SCHEMA)
            with FileSystems.create(path) as f:
                pq.write_table(table, f, compression="lz4")
            out.append((shard, path))
        self.parts, self.count = {}, 0
        return out

    def finish_bundle(self):
        for kv in self._flush():
            yield in_global_window(kv)


def _read_run(path: str) -> Iterator[tuple[str, bytes]]:
    for batch in parquet_batches(path, batch_size=2048):
        yield from zip(batch.column(0).to_pylist(), batch.column(1).to_pylist(), strict=True)


class _MergeRunsFn(beam.DoFn):
    """One shard: merge its sorted runs into ``part-SSSSS-of-NNNNN.parquet``, streaming (a
    row group at a time), then name the runs as spent."""

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
            for _, blob in heapq.merge(*(_read_run(r) for r in runs)):
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
        n = self.num_shards
        merged = (
            records
            | "SortedRuns" >> beam.ParDo(_SortedRunsFn(self.kind, self.tmp_dir, n))
            | "GroupRunsByShard" >> beam.GroupByKey()
            | "MergeRuns" >> beam.ParDo(_MergeRunsFn(self.kind, self.out_dir, n, self.compression)).with_outputs(
                _SPENT, main="written"
            )
        )
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
