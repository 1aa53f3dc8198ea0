"""The composite PTransforms of the pipeline spine: read, parse, normalize, filter.

Each step is a composite ``PTransform`` with a unique label, and rejections travel on tagged
outputs apart from crashes (errors). The per-document logic lives in plain Python modules
(``readers``, ``parse``, ``gristmill.filters``); these classes only route records. Writing
is ``write_shards``; the shared Beam helpers are ``beam_util``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.utils import shared

from gristmill.config import InputConfig, NormalizeConfig
from gristmill.filters.chain import FilterChain
from gristmill.filters.normalize import normalize_text
from gristmill.filters.text_units import BATCH_CHARS, BATCH_ENTRIES
from gristmill.pipelines import progress
from gristmill.pipelines.beam_util import NAMESPACE, copy_doc, in_global_window
from gristmill.pipelines.parse import parse_or_error
from gristmill.pipelines.readers import (
    FileRange,
    InputFile,
    RawRecord,
    bounded_raw,
    read_range,
    split_file,
)
from gristmill.pipelines.warc import SkippedRecord
from gristmill.schemas import (
    Document,
    ErrorRecord,
    Rejection,
)

ERRORS = "errors"
REJECTED = "rejected"
SKIPPED = "skipped"  # crawl records that are not documents (warc.SkippedRecord): counted apart


def doc_error(doc: Document, stage: str, exc: BaseException) -> ErrorRecord:
    """A document a stage crashed on, as an error record (Beam's dead-letter pattern): the run
    goes on, the count still balances, and ``errors/`` says which document, where and why."""
    return text_error(doc.source, None, f"{stage}_exception",
                      f"document {doc.id!r}: {type(exc).__name__}: {exc}", doc.text)


def text_error(file: str, line: int | None, error_type: str, message: str, text: str) -> ErrorRecord:
    """An error record that keeps a bounded prefix of ``text`` (``readers.bounded_raw``)."""
    raw, note = bounded_raw(text.encode("utf-8", "replace"))
    return ErrorRecord(file, line, error_type, message + note, raw)


class PlanRanges(beam.PTransform):
    """Files -> the ranges they are read as (``readers.split_file``: about ``input.split_bytes``
    each, at record boundaries), spread over workers.

    A range, not a file, is the unit of reading, so the work and what one element of the read
    carries are bounded by the budget however large a file is. Files are split where they are
    spread (a worker, not the driver), and only files over the budget are scanned.
    """

    def __init__(self, files: list[InputFile], cfg: InputConfig) -> None:
        super().__init__()
        self.files = files
        self.cfg = cfg

    def expand(self, pbegin):
        return (
            pbegin
            | "ListFiles" >> beam.Create(self.files)
            | "SpreadFiles" >> beam.Reshuffle()
            | "SplitFiles" >> beam.FlatMap(split_file, self.cfg.format, self.cfg.split_bytes)
            | "SpreadRanges" >> beam.Reshuffle()
        )


class ReadRanges(beam.PTransform):
    """File ranges -> RawRecord | ErrorRecord, one element per input record, in order within
    a range (line numbers count from the range's ``first_line``)."""

    def __init__(self, cfg: InputConfig) -> None:
        super().__init__()
        self.cfg = cfg

    def expand(self, ranges):
        return ranges | "ReadRecords" >> beam.FlatMap(read_range, self.cfg.format, self.cfg.max_record_bytes)


class ReadCorpus(beam.PTransform):
    """Files -> RawRecord | ErrorRecord, one element per input record: ``PlanRanges`` then
    ``ReadRanges``."""

    def __init__(self, files: list[InputFile], cfg: InputConfig) -> None:
        super().__init__()
        self.files = files
        self.cfg = cfg

    def expand(self, pbegin):
        return pbegin | "Plan" >> PlanRanges(self.files, self.cfg) | "ReadRanges" >> ReadRanges(self.cfg)


def origin(rec: RawRecord) -> str:
    """Where a record came from, as a string that sorts in input order within a file."""
    return f"{rec.file}#{rec.line if rec.line is not None else 0:012d}"


class _ParseFn(beam.DoFn):
    """RawRecord -> Document, or ErrorRecord (bad records, and every record of an id that is
    not the id's first record; ``repeated`` maps each id used more than once to the origin of
    its first record)."""

    RECORDS = "records"

    def __init__(self, cfg: InputConfig) -> None:
        self.cfg = cfg
        self.bad = Metrics.counter(NAMESPACE, "errors")

    def process(self, rec: RawRecord | ErrorRecord | SkippedRecord, repeated: dict[str, str]):
        if isinstance(rec, SkippedRecord):
            yield beam.pvalue.TaggedOutput(SKIPPED, rec)
            return
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


class _ReadParseFn(_ParseFn):
    """A file range -> its records, parsed (``_ParseFn``); every record as read, but the
    crawl records that are not documents (``SkippedRecord``, counted apart), also goes to the
    ``records`` output, to count the input."""

    def process(self, rng: FileRange, repeated: dict[str, str]):
        for rec in read_range(rng, self.cfg.format, self.cfg.max_record_bytes):
            if not isinstance(rec, SkippedRecord):
                yield beam.pvalue.TaggedOutput(self.RECORDS, rec)
            yield from super().process(rec, repeated)


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
    """Input files -> Document (main), ErrorRecord (``errors``), SkippedRecord (``skipped``)
    and every record as read but the skipped ones (``records``, to count the input).

    Ids must be unique: of the records sharing an id the first (in file and line order) is
    kept and the others become ``duplicate_id`` errors. To find them without shuffling the
    documents, the input is read twice: the first read sends only (id, origin) pairs through
    a GroupByKey (through sorted files with ``tmp_dir``), and the second parses with the ids that repeat (a side input bounded by
    their number) at hand. Parsing twice costs far less than moving every document through
    the runner, which on the local runner holds a shuffle in memory. Both reads use the same
    ranges (``PlanRanges``, planned once).
    """

    def __init__(self, files: list[InputFile], cfg: InputConfig, tmp_dir: str | None = None) -> None:
        """``tmp_dir``: where the (id, origin) pairs are grouped as sorted files
        (``SpillGroupByKey``; a path every worker reaches); None groups them in the runner."""
        super().__init__()
        self.files = files
        self.cfg = cfg
        self.tmp_dir = tmp_dir

    def expand(self, pbegin):
        from gristmill.pipelines.spill_group import SpillGroupByKey

        group = beam.GroupByKey() if self.tmp_dir is None else SpillGroupByKey(self.tmp_dir, "ids", min_size=2)
        ranges = pbegin | "PlanRanges" >> PlanRanges(self.files, self.cfg)
        repeated = (
            ranges
            | "ReadForIds" >> ReadRanges(self.cfg)
            | "IdAndOrigin" >> beam.FlatMap(_id_and_origin, self.cfg)
            | "GroupById" >> group
            | "RepeatedIds" >> beam.FlatMap(_first_of_repeated)
        )
        # Reading and parsing are one step: the step that waits for the side input reads its
        # ranges itself. As two steps, the local runner cannot fuse them (the read would be
        # fused with the ids read, which the side input depends on) and held every record
        # of the corpus in memory between them.
        parsed = ranges | "ReadAndParse" >> beam.ParDo(
            _ReadParseFn(self.cfg), repeated=beam.pvalue.AsDict(repeated)
        ).with_outputs(ERRORS, SKIPPED, _ReadParseFn.RECORDS, main="docs")
        return {"docs": parsed.docs, ERRORS: parsed[ERRORS], SKIPPED: parsed[SKIPPED],
                "records": parsed[_ReadParseFn.RECORDS]}


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
