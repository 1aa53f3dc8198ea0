"""What the report's web section shows, gathered in one pass over the run (``web_view``).

The run's outputs hold the kept text, not the page it came from. To show a page before and
after extraction, the section reads the page again from the run's input: a crawl record at its
``metadata["warc_offset"]`` (``pipelines.warc`` puts it there; ``read_warc`` seeks to it), an
``.html`` file by its name (the document's ``source``). So the "before" views need the input
where the run read it (``summary.json`` ``inputs``); without it the section says so and shows
the counts and the kept text only.

- extraction: the page's visible text (``readers.html_to_text``, what gristmill kept before
  it had an extractor), the words the extractor dropped marked, beside the kept text;
- redaction: the page's text as the run's extractor gives it again (``versions.extract``),
  the spans the run's ``pii`` filter finds marked, beside the kept text, placeholders marked.

Samples are the documents with the smallest hash of their id: the same run gives the same
samples, whatever its sharding.
"""

from __future__ import annotations

import hashlib
import heapq
import re
import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gristmill.report.run import RunDir, fetch_by_ids, map_entries
from gristmill.report.stats import RunStats
from gristmill.schemas.records import entries_to_dict

SAMPLES = 3
WEB_FILTERS = ("url", "pii", "decontaminate")
MARKUP_KEY, EXTRACTED_KEY, OFFSET_KEY = "html_chars", "extracted_chars", "warc_offset"
Span = tuple[int, int]


@dataclass
class Sample:
    """One document before and after, with the spans to mark in each. ``before`` is None when
    the page could not be read again (``note`` says why)."""

    id: str
    url: str | None
    markup_chars: int | None
    after: str
    after_spans: list[Span] = field(default_factory=list)
    before: str | None = None
    before_spans: list[Span] = field(default_factory=list)
    note: str = ""


@dataclass
class WebView:
    """The web section's numbers and samples."""

    skipped: dict[str, int]
    extract: dict[str, Any] | None  # summary.json versions.extract: extractor, version, options
    pages: int = 0  # documents the extract stage converted (``html_chars`` in metadata)
    markup_chars: int = 0
    extracted_chars: int = 0
    pii_kinds: list[str] = field(default_factory=list)
    pii_counts: dict[str, int] = field(default_factory=dict)
    pii_reached: int = 0  # documents the pii filter saw
    pii_docs: int = 0  # ... and redacted something in
    extraction: list[Sample] = field(default_factory=list)
    redaction: list[Sample] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def is_web_run(st: RunStats) -> bool:
    """Whether the run read crawl or HTML input or ran a web stage: skipped crawl records, an
    ``extract`` section, HTML pages seen by the extract stage, or a url/pii/decontaminate filter."""
    s = st.run.summary
    return bool(s.get("skipped_records") or st.run.config.get("extract")
                or (s.get("metrics") or {}).get("extract.pages")
                or any(f["registered"] in WEB_FILTERS for f in st.run.filter_specs))


_VIEWS: dict[int, tuple[weakref.ref, WebView]] = {}


def web_view(st: RunStats) -> WebView:
    """The section's view of ``st``'s run, computed once per ``RunStats`` (the terminal report
    and the page both draw it)."""
    hit = _VIEWS.get(id(st))
    if hit is not None and hit[0]() is st:
        return hit[1]
    for k in [k for k, (ref, _) in _VIEWS.items() if ref() is None]:
        del _VIEWS[k]
    view = _compute(st)
    _VIEWS[id(st)] = (weakref.ref(st), view)
    return view


# ---------------------------------------------------------------------------------------------
# one pass over the metadata


def _hash(doc_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(doc_id.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")


class _Smallest:
    """The ``n`` ids with the smallest hash offered so far (a bounded heap, largest on top)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.heap: list[tuple[int, str]] = []  # (-hash, id)

    def offer(self, ids: list[str]) -> None:
        for i in ids:
            item = (-_hash(i), i)
            if len(self.heap) < self.n:
                heapq.heappush(self.heap, item)
            elif item > self.heap[0]:
                heapq.heapreplace(self.heap, item)

    def ids(self) -> list[str]:
        return [i for _, i in sorted(self.heap, reverse=True)]


def _ints(values: pa.Array) -> np.ndarray:
    """Metadata values (strings) as integers; a value that is not one counts 0."""
    try:
        return pc.fill_null(pc.cast(values, pa.int64()), 0).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return np.array([int(v) if v and v.isdigit() else 0 for v in values.to_pylist()], dtype=np.int64)


def _compute(st: RunStats) -> WebView:
    run = st.run
    view = WebView(dict(run.summary.get("skipped_records") or {}), (run.summary.get("versions") or {}).get("extract"))
    pii_spec = next((f for f in run.filter_specs if f["registered"] == "pii"), None)
    pii_kinds: dict[str, None] = {}
    pages, redacted = _Smallest(SAMPLES), _Smallest(SAMPLES)
    for kind in ("kept", "rejected"):
        for batch in run.iter_batches(kind, ["id", "metadata"]):
            parents, keys, items = map_entries(batch.column("metadata"))
            if not len(keys):
                continue
            markup = pc.equal(keys, MARKUP_KEY).to_numpy(zero_copy_only=False)
            extracted = pc.equal(keys, EXTRACTED_KEY).to_numpy(zero_copy_only=False)
            view.pages += int(markup.sum())
            view.markup_chars += int(_ints(items.filter(markup)).sum())
            view.extracted_chars += int(_ints(items.filter(extracted)).sum())
            pii = pc.starts_with(keys, "pii.").to_numpy(zero_copy_only=False)
            per_doc = np.zeros(batch.num_rows, dtype=np.int64)
            if pii.any():
                counts = _ints(items.filter(pii))
                names = keys.filter(pii).to_pylist()
                for name, n in zip(names, counts.tolist(), strict=True):
                    short = name[4:]
                    pii_kinds.setdefault(short)
                    view.pii_counts[short] = view.pii_counts.get(short, 0) + n
                np.add.at(per_doc, parents[pii], counts)
                view.pii_reached += len(np.unique(parents[pii]))
                view.pii_docs += int((per_doc > 0).sum())
            if kind == "kept":
                ids = batch.column("id").to_pylist()
                pages.offer([ids[i] for i in np.unique(parents[markup])])
                redacted.offer([ids[i] for i in np.flatnonzero(per_doc)])
    view.pii_kinds = list(pii_kinds)
    if pii_spec is None:  # pii.* keys from the input, not from this run's filter
        view.pii_counts, view.pii_reached, view.pii_docs = {}, 0, 0
    _samples(st, view, pages.ids(), redacted.ids() if pii_spec else [], pii_spec)
    return view


# ---------------------------------------------------------------------------------------------
# samples: the kept rows, and their pages read again from the input


def _samples(st: RunStats, view: WebView, page_ids: list[str], pii_ids: list[str],
             pii_spec: dict | None) -> None:
    rows = fetch_by_ids(st.run, "kept", page_ids + pii_ids)
    pages = _Pages(st.run)
    for i in page_ids:
        row = rows[i]
        s = _sample(row)
        markup, s.note = pages.markup(row)
        if markup is not None:
            from gristmill.pipelines.readers import html_to_text
            from gristmill.report.highlight import differing_words

            s.before = html_to_text(markup)
            s.before_spans = differing_words(s.before, s.after)
        view.extraction.append(s)
    if pii_spec is None:
        return
    from gristmill.filters import create

    pii = create("pii", **(pii_spec.get("params") or {}))
    holders = re.compile("|".join(re.escape(p) for p in sorted(set(pii.placeholders.values()), key=len, reverse=True)))
    extractor = _extractor(view, st.run)
    for i in pii_ids:
        row = rows[i]
        s = _sample(row)
        s.after_spans = [m.span() for m in holders.finditer(s.after)]
        markup, s.note = pages.markup(row)
        if markup is not None and extractor is not None:
            s.before = extractor.extract(markup, row.get("url"))
            s.before_spans = [(f.start, f.end) for f in pii.find(s.before)]
        elif markup is not None:
            s.note = "the run's extractor is not recorded in summary.json (versions.extract)"
        view.redaction.append(s)
    view.notes = pages.notes


def _sample(row: dict) -> Sample:
    meta = _meta(row)
    n = meta.get(MARKUP_KEY)
    return Sample(row["id"], row.get("url"), int(n) if n and n.isdigit() else None, row["text"] or "")


def _meta(row: dict) -> dict[str, str]:
    return entries_to_dict(row.get("metadata"))


def _extractor(view: WebView, run: RunDir):
    """The run's extractor, rebuilt from ``versions.extract`` (None without one)."""
    spec = view.extract
    if not spec:
        return None
    from gristmill.extract import make_extractor

    ex = make_extractor(spec["extractor"], **(spec.get("options") or {}))
    if spec.get("version") and ex.version != spec["version"]:
        view.notes.append(f"the run used {spec['extractor']} {spec['version']}; the text before "
                          f"redaction is re-extracted with {ex.version}")
    return ex


class _Pages:
    """Reads a document's page again from the run's input: a crawl record at its offset, or
    an ``.html`` file whole. The input files are listed once, on first use."""

    def __init__(self, run: RunDir) -> None:
        self.run = run
        self._files: dict[str, str] | None = None
        self.notes: list[str] = []

    def _paths(self) -> dict[str, str]:
        if self._files is None:
            from gristmill.pipelines.readers import expand_inputs

            try:
                self._files = {f.name: f.path for f in expand_inputs(list(self.run.summary.get("inputs") or []))}
            except (OSError, ValueError) as e:
                self._files = {}
                self.notes.append(f"the run's input cannot be read again ({e}): no text before extraction")
        return self._files

    def markup(self, row: dict) -> tuple[str | None, str]:
        """(the page's markup, "") or (None, why not)."""
        meta = _meta(row)
        path = self._paths().get(row.get("source") or "")
        if path is None:
            return None, f"input file {row.get('source')!r} not found where the run read it"
        try:
            if OFFSET_KEY in meta:
                return self._record(row, path, int(meta[OFFSET_KEY])), ""
            if meta.get("format") == "html":
                with open(path, "rb") as f:
                    return f.read().decode("utf-8", "replace").removeprefix("\ufeff"), ""
        except (OSError, ValueError, LookupError) as e:
            return None, f"{row.get('source')}: {e}"
        return None, "not an HTML page"

    def _record(self, row: dict, path: str, offset: int) -> str:
        from gristmill.pipelines.readers import RawRecord
        from gristmill.pipelines.warc import read_warc, to_document

        limit = int((self.run.config.get("input") or {}).get("max_record_bytes") or 16 << 20)
        for n, rec in enumerate(read_warc(row["source"], path, limit, start=offset)):
            if isinstance(rec, RawRecord) and rec.payload.record_id == row["id"]:
                return to_document(row["source"], rec.payload).text
            if n >= 8:  # a gzip member holds one record, or a few: the id is near
                break
        raise ValueError(f"no record {row['id']!r} at offset {offset} (has the file changed?)")
