"""The composite PTransforms of the pipeline spine: read, parse, normalize, filter, write.

Each step is a composite ``PTransform`` with a unique label, and rejections travel on tagged
outputs apart from crashes (errors). The per-document logic lives in plain Python modules
(``readers``, ``parse``, ``gristmill.filters``); these classes only route records.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from apache_beam.utils import shared

from gristmill.config import InputConfig, NormalizeConfig
from gristmill.filters.chain import FilterChain
from gristmill.filters.normalize import normalize_text
from gristmill.pipelines.parse import parse_or_error
from gristmill.pipelines.readers import InputFile, RawRecord, read_file
from gristmill.schemas import (
    DOCUMENT_SCHEMA,
    ERROR_SCHEMA,
    REJECTION_SCHEMA,
    Document,
    ErrorRecord,
    Rejection,
)

NAMESPACE = "gristmill"
ERRORS = "errors"
REJECTED = "rejected"
ORIGIN = "_origin"


def copy_doc(doc: Document) -> Document:
    """A copy whose mutable fields can be changed without touching the input element."""
    return Document(doc.id, doc.text, doc.source, doc.url, dict(doc.metadata), dict(doc.scores))


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


class _ParseFn(beam.DoFn):
    def __init__(self, cfg: InputConfig) -> None:
        self.cfg = cfg
        self.bad = Metrics.counter(NAMESPACE, "errors")

    def process(self, rec: RawRecord | ErrorRecord):
        out = rec if isinstance(rec, ErrorRecord) else parse_or_error(rec, self.cfg)
        if isinstance(out, Document):
            # where the record came from, to keep the first of duplicate ids (removed in Normalize)
            out.metadata[ORIGIN] = f"{rec.file}#{rec.line if rec.line is not None else 0:012d}"
        if isinstance(out, ErrorRecord):
            self.bad.inc()
            yield beam.pvalue.TaggedOutput(ERRORS, out)
        else:
            yield out


def _first_of_id(kv: tuple[str, Iterable[Document]]):
    """Ids must be unique: keep the first occurrence (by source order), quarantine the rest."""
    doc_id, docs = kv
    docs = sorted(docs, key=lambda d: (d.metadata[ORIGIN], d.text))
    first, *dups = docs
    first_origin = first.metadata[ORIGIN]
    yield first
    for d in dups:
        file, line = d.metadata[ORIGIN].rsplit("#", 1)
        yield beam.pvalue.TaggedOutput(
            ERRORS,
            ErrorRecord(file, int(line) or None, "duplicate_id",
                        f"id {doc_id!r} already used by an earlier record ({first_origin})",
                        d.text.encode("utf-8", "surrogatepass")),
        )


class ParseRecords(beam.PTransform):
    """RawRecord -> Document (main) and ErrorRecord (``errors``); duplicate ids -> errors."""

    def __init__(self, cfg: InputConfig) -> None:
        super().__init__()
        self.cfg = cfg

    def expand(self, records):
        parsed = records | "Parse" >> beam.ParDo(_ParseFn(self.cfg)).with_outputs(ERRORS, main="docs")
        unique = (
            parsed.docs
            | "KeyById" >> beam.Map(lambda d: (d.id, d))
            | "GroupById" >> beam.GroupByKey()
            | "FirstOfId" >> beam.FlatMap(_first_of_id).with_outputs(ERRORS, main="docs")
        )
        errors = (parsed[ERRORS], unique[ERRORS]) | "MergeParseErrors" >> beam.Flatten()
        return {"docs": unique.docs, ERRORS: errors}


class _NormalizeFn(beam.DoFn):
    def __init__(self, cfg: NormalizeConfig | None) -> None:
        self.cfg = cfg
        self.empty = Metrics.counter(NAMESPACE, "normalize.empty_text")

    def process(self, doc: Document):
        # Beam elements must not be mutated in place: work on a copy.
        doc = copy_doc(doc)
        doc.metadata.pop(ORIGIN, None)
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
        out = docs | "NormalizeText" >> beam.ParDo(_NormalizeFn(self.cfg)).with_outputs(REJECTED, main="docs")
        return {"docs": out.docs, REJECTED: out[REJECTED]}


class _FilterFn(beam.DoFn):
    """Runs the FilterChain. The built chain (fastText models included) is shared by all
    DoFn instances of a worker process through ``shared.Shared``, never pickled."""

    def __init__(self, specs: list[dict], digest: str) -> None:
        self.specs = specs
        self.digest = digest
        self._shared = shared.Shared()
        self._chain: FilterChain | None = None
        self._counters: dict[str, object] = {}

    def setup(self):
        def build():
            chain = FilterChain.from_specs(self.specs)
            chain.setup()
            return chain

        self._chain = self._shared.acquire(build, tag=self.digest)

    def process(self, doc: Document):
        doc, rej = self._chain(copy_doc(doc))
        if rej is None:
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
            return {"docs": docs, REJECTED: docs.pipeline | "NoFilterRejections" >> beam.Create([])}
        out = docs | "RunFilterChain" >> beam.ParDo(_FilterFn(self.specs, self.digest)).with_outputs(REJECTED, main="docs")
        return {"docs": out.docs, REJECTED: out[REJECTED]}


# --- writing ------------------------------------------------------------------------------

KINDS = {
    "kept": (DOCUMENT_SCHEMA, lambda r: r.id, lambda r: r.to_row()),
    "rejected": (REJECTION_SCHEMA, lambda r: r.doc.id, lambda r: r.to_row()),
    "errors": (ERROR_SCHEMA, lambda r: f"{r.input_file}\x00{r.line if r.line is not None else -1:012d}\x00{r.error_type}\x00{r.message}",
               lambda r: r.to_row()),
}


def shard_of(key: str, num_shards: int) -> int:
    """Deterministic shard assignment (independent of worker count and input order)."""
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big") % num_shards


class _WriteShardFn(beam.DoFn):
    def __init__(self, kind: str, out_dir: str, num_shards: int, compression: str) -> None:
        self.kind = kind
        self.out_dir = out_dir
        self.num_shards = num_shards
        self.compression = None if compression == "none" else compression

    def process(self, kv):
        shard, records = kv
        schema, key, to_row = KINDS[self.kind]
        rows = sorted(((key(r), to_row(r)) for r in records), key=lambda kr: kr[0])
        table = pa.Table.from_pylist([r for _, r in rows], schema=schema)
        path = FileSystems.join(self.out_dir, self.kind, f"part-{shard:05d}-of-{self.num_shards:05d}.parquet")
        with FileSystems.create(path) as f:
            pq.write_table(table, f, compression=self.compression, row_group_size=4096)
        yield (self.kind, len(rows))


class WriteShards(beam.PTransform):
    """Records -> ``<out_dir>/<kind>/part-SSSSS-of-NNNNN.parquet``, rows sorted by key.

    Shard = hash(key) mod N, then rows sorted within the shard, so the bytes written depend
    only on the records, not on worker count or bundle order (reruns are byte-identical).
    """

    def __init__(self, kind: str, out_dir: str, num_shards: int, compression: str) -> None:
        super().__init__()
        self.kind, self.out_dir, self.num_shards, self.compression = kind, out_dir, num_shards, compression

    def expand(self, records):
        key = KINDS[self.kind][1]
        n = self.num_shards
        return (
            records
            | "AssignShard" >> beam.Map(lambda r: (shard_of(key(r), n), r))
            | "GroupShard" >> beam.GroupByKey()
            | "WriteParquet" >> beam.ParDo(_WriteShardFn(self.kind, self.out_dir, n, self.compression))
        )
