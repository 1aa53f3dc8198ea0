"""One streaming pass over a run's outputs that gathers everything the reports show.

Kept and rejected documents are read in record batches of a few columns; per batch we compute
text lengths, flatten the ``scores`` and ``metadata`` maps, and fold counts into small
dictionaries. What grows with the run is only what the plots need: for every score key the
score (float64), the characters (int32) and the fate (int32) of each document that has that
score, 16 bytes per score per document (the scores must stay float64: a what-if at the
configured threshold must reproduce the filter's own comparisons exactly). Texts are never held, except a
few sampled rejected documents per reason and their duplicates' representatives.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gristmill.report.reservoir import Reservoir
from gristmill.report.run import RunDir, fetch_by_ids, map_entries, text_lengths

SAMPLES_PER_REASON = 3
SAMPLE_SEED = 0
KEPT = 0  # fate code of a kept document; rejected documents get 1 + index into reasons
# The pipeline's stages that reject, in the order a run applies them (rejections' ``stage``).
STAGE_RANK = {"extract": 0, "normalize": 1, "filters": 2, "dedup": 3}


@dataclass
class ScoreSeries:
    """Every stored value of one score key, with the characters and fate of its document."""

    key: str
    values: np.ndarray
    chars: np.ndarray
    fate: np.ndarray

    @property
    def filter(self) -> str:
        return self.key.split(".", 1)[0]


@dataclass
class ReasonStats:
    reason: str
    filter: str
    stage: str
    docs: int = 0
    chars: int = 0
    thresholds: Counter = field(default_factory=Counter)


@dataclass(frozen=True)
class FunnelStep:
    """One row of the funnel: the documents (and their characters) left after a step.

    ``stage`` is ``input``, ``parse``, ``kept``, or for the row after a filter or dedup stage
    (named by ``filter``) the pipeline stage it belongs to (``filters``, ``dedup``). Errors
    have no text, so ``chars`` of ``parse`` equals that of ``input``.
    """

    stage: str
    filter: str | None
    documents: int
    chars: int

    @property
    def label(self) -> str:
        """The row's name in both reports: ``input records`` ... ``after word_count`` ..."""
        return f"after {self.filter}" if self.filter is not None else FUNNEL_LABELS[self.stage]


FUNNEL_LABELS = {"input": "input records", "parse": "parsed (minus errors)", "kept": "kept"}


@dataclass
class RunStats:
    """Aggregates of one run; numbers only, plus a few sampled rows."""

    run: RunDir
    input_records: int = 0
    kept_docs: int = 0
    kept_chars: int = 0
    rejected_docs: int = 0
    rejected_chars: int = 0
    errors: int = 0
    reasons: list[str] = field(default_factory=list)
    by_reason: dict[str, ReasonStats] = field(default_factory=dict)
    by_source: dict[str, dict[str, Any]] = field(default_factory=dict)
    # (filter, representative id) -> number of documents removed as its duplicates
    clusters: dict[tuple[str, str], int] = field(default_factory=dict)
    dup_similarity: dict[str, list[np.ndarray]] = field(default_factory=lambda: defaultdict(list))
    scores: dict[str, ScoreSeries] = field(default_factory=dict)
    errors_by_type: Counter = field(default_factory=Counter)
    error_examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    metadata_sums: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    annotated: Counter = field(default_factory=Counter)
    samples: dict[str, list[dict]] = field(default_factory=dict)
    representatives: dict[str, dict] = field(default_factory=dict)

    @property
    def input_chars(self) -> int:
        return self.kept_chars + self.rejected_chars

    def filter_order(self) -> list[str]:
        """Filters in pipeline order: the stages before the filters (extract, normalize), the
        configured filters, then the stages after them (dedup) by the order a pipeline runs
        them, then anything else by name."""
        configured = [s["name"] for s in self.run.filter_specs]
        seen = {r.filter for r in self.by_reason.values()}
        dedup_rank = {"exact_dedup": 0, "exact": 0, "minhash": 1}
        stage_of = {r.filter: r.stage for r in self.by_reason.values()}
        rest = sorted(
            seen - set(configured),
            key=lambda f: (STAGE_RANK.get(stage_of[f], len(STAGE_RANK)), dedup_rank.get(f, 9), f),
        )
        before = [f for f in rest if STAGE_RANK.get(stage_of[f], len(STAGE_RANK)) < STAGE_RANK["filters"]]
        return before + configured + [f for f in rest if f not in before]

    def score_keys(self) -> list[str]:
        """Score keys grouped by filter in pipeline order, then by name."""
        order = {f: i for i, f in enumerate(self.filter_order())}
        return sorted(self.scores, key=lambda k: (order.get(k.split(".", 1)[0], len(order)), k))

    def by_filter(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for f in self.filter_order():
            rs = [r for r in self.by_reason.values() if r.filter == f]
            out[f] = {
                "stage": rs[0].stage if rs else "filters",
                "docs": sum(r.docs for r in rs),
                "chars": sum(r.chars for r in rs),
                "reasons": sorted(rs, key=lambda r: (-r.docs, r.reason)),
            }
        return out

    def funnel(self) -> list[FunnelStep]:
        """Documents and characters left after each step, from input records to kept, in
        pipeline order (one row per filter or dedup stage, even one that removed nothing)."""
        steps = [FunnelStep("input", None, self.input_records, self.input_chars)]
        docs, chars = self.input_records - self.errors, self.input_chars
        steps.append(FunnelStep("parse", None, docs, chars))
        for f, info in self.by_filter().items():
            docs -= info["docs"]
            chars -= info["chars"]
            steps.append(FunnelStep(info["stage"], f, docs, chars))
        steps.append(FunnelStep("kept", None, self.kept_docs, chars))
        return steps


REJECTED_COLUMNS = ["id", "text", "source", "metadata", "scores", "stage", "filter", "reason",
                    "value", "threshold", "duplicate_of"]
KEPT_COLUMNS = ["id", "text", "source", "metadata", "scores"]
ERROR_COLUMNS = ["input_file", "line", "error_type", "message"]


def compute_stats(run: RunDir, samples_per_reason: int = SAMPLES_PER_REASON) -> RunStats:
    """Read the run once and aggregate. Rejected documents come first: the sampled
    duplicates are then known, so their representatives are picked up while kept/ streams by
    (the few removed by a later stage are fetched from rejected/ afterwards)."""
    acc = _Accumulator(run, samples_per_reason)
    for batch in run.iter_batches("rejected", REJECTED_COLUMNS):
        acc.add_rejected(batch)
    acc.draw_samples()
    for batch in run.iter_batches("kept", KEPT_COLUMNS):
        acc.add_kept(batch)
    acc.fetch_rejected_representatives()
    for batch in run.iter_batches("errors", ERROR_COLUMNS):
        acc.add_errors(batch)
    return acc.finish()


class _ScoreColumn:
    """Every value of one score key, with its document's characters and fate. Columns are
    preallocated to the run's row count (``np.empty`` touches no memory until written) and
    filled batch by batch: no list of parts to concatenate at the end, which would double
    the peak."""

    def __init__(self, capacity: int) -> None:
        self.values = np.empty(capacity, np.float64)
        self.chars = np.empty(capacity, np.int32)
        self.fate = np.empty(capacity, np.int32)
        self.n = 0

    def append(self, values: np.ndarray, chars: np.ndarray, fate: np.ndarray) -> None:
        a, b = self.n, self.n + len(values)
        self.values[a:b], self.chars[a:b], self.fate[a:b] = values, chars, fate
        self.n = b

    def series(self, key: str) -> ScoreSeries:
        n = self.n
        return ScoreSeries(key=key, values=self.values[:n], chars=self.chars[:n], fate=self.fate[:n])


class _Accumulator:
    """The state of ``compute_stats``'s pass: the ``RunStats`` being filled, plus what only
    the pass needs (reason codes, score columns, per-source rows, the sample reservoir)."""

    def __init__(self, run: RunDir, samples_per_reason: int) -> None:
        self.st = RunStats(run=run)
        self.reason_index: dict[str, int] = {}  # reason -> fate code (1 + index in st.reasons)
        self.capacity = run.num_rows("kept") + run.num_rows("rejected")
        self.score_columns: dict[str, _ScoreColumn] = {}
        self.sources: dict[str, dict[str, Any]] = {}
        self.reservoir = Reservoir(samples_per_reason, SAMPLE_SEED)
        self.wanted_reps: set[str] = set()  # ids of the sampled duplicates' representatives

    # rejected -------------------------------------------------------------------------------
    def add_rejected(self, batch: pa.RecordBatch) -> None:
        lengths = text_lengths(batch.column("text"))
        fate = self._fate_codes(batch)
        self._count_reasons(batch, fate, lengths)
        self.st.rejected_docs += batch.num_rows
        self.st.rejected_chars += int(lengths.sum())
        self._add_scores_metadata_sources(batch, fate, lengths)
        self._add_duplicates(batch)
        self.reservoir.offer(batch, fate)

    def _fate_codes(self, batch: pa.RecordBatch) -> np.ndarray:
        """Each row's fate code; a reason seen for the first time gets the next code, and its
        filter and stage from the first row that carries it."""
        enc = pc.dictionary_encode(pc.fill_null(batch.column("reason"), ""))
        idx = enc.indices.to_numpy()
        lut = np.empty(len(enc.dictionary), dtype=np.int32)
        for j, reason in enumerate(enc.dictionary.to_pylist()):
            if reason not in self.reason_index:
                self._new_reason(reason, batch, first=int(np.argmax(idx == j)))
            lut[j] = self.reason_index[reason]
        return lut[idx] if batch.num_rows else np.empty(0, dtype=np.int32)

    def _new_reason(self, reason: str, batch: pa.RecordBatch, first: int) -> None:
        st = self.st
        st.reasons.append(reason)
        self.reason_index[reason] = len(st.reasons)
        filter_name = batch.column("filter")[first].as_py() or reason.split(".")[0]
        st.by_reason[reason] = ReasonStats(reason, filter_name, batch.column("stage")[first].as_py() or "")

    def _count_reasons(self, batch: pa.RecordBatch, fate: np.ndarray, lengths: np.ndarray) -> None:
        """Documents, characters and the thresholds in force, per reason."""
        st = self.st
        docs = np.bincount(fate, minlength=len(st.reasons) + 1)
        chars = np.bincount(fate, weights=lengths, minlength=len(st.reasons) + 1)
        thr = pc.fill_null(batch.column("threshold"), np.nan).to_numpy(zero_copy_only=False)
        for code in np.flatnonzero(docs):
            rs = st.by_reason[st.reasons[code - 1]]
            rs.docs += int(docs[code])
            rs.chars += int(chars[code])
            t = thr[fate == code]
            t = t[~np.isnan(t)]
            if len(t):
                vals, counts = np.unique(t, return_counts=True)
                for v, c in zip(vals.tolist(), counts.tolist(), strict=True):
                    rs.thresholds[v] += c

    def _add_duplicates(self, batch: pa.RecordBatch) -> None:
        """Cluster sizes (representative -> documents removed as its copies) and the
        similarity of each removed copy, per dedup stage."""
        has_dup = pc.is_valid(batch.column("duplicate_of"))
        if not pc.any(has_dup).as_py():
            return
        sub = batch.filter(has_dup)
        g = pa.table({"f": sub.column("filter"), "rep": sub.column("duplicate_of"),
                      "sim": pc.fill_null(sub.column("value"), np.nan)})
        for row in g.group_by(["f", "rep"]).aggregate([("rep", "count")]).to_pylist():
            key = (row["f"], row["rep"])
            self.st.clusters[key] = self.st.clusters.get(key, 0) + row["rep_count"]
        for f in pc.unique(g.column("f")).to_pylist():
            sims = g.filter(pc.equal(g.column("f"), f)).column("sim")
            self.st.dup_similarity[f].append(sims.to_numpy())

    def draw_samples(self) -> None:
        """The sampled rows per reason, once every rejection has been offered."""
        for reason, code in self.reason_index.items():
            self.st.samples[reason] = self.reservoir.rows(code)
        self.wanted_reps = {s["duplicate_of"] for rows in self.st.samples.values() for s in rows
                            if s.get("duplicate_of")}

    # kept -----------------------------------------------------------------------------------
    def add_kept(self, batch: pa.RecordBatch) -> None:
        lengths = text_lengths(batch.column("text"))
        fate = np.zeros(batch.num_rows, dtype=np.int32)
        self.st.kept_docs += batch.num_rows
        self.st.kept_chars += int(lengths.sum())
        self._add_scores_metadata_sources(batch, fate, lengths)
        self._keep_representatives(batch)

    def _keep_representatives(self, batch: pa.RecordBatch) -> None:
        if not self.wanted_reps:
            return
        mask = pc.is_in(batch.column("id"), value_set=pa.array(sorted(self.wanted_reps)))
        if pc.any(mask).as_py():
            for row in batch.filter(mask).to_pylist():
                self.st.representatives[row["id"]] = {**row, "fate": "kept"}

    def fetch_rejected_representatives(self) -> None:
        """Representatives that a later stage removed are in rejected/, read by id."""
        missing = self.wanted_reps - set(self.st.representatives)
        for rid, row in fetch_by_ids(self.st.run, "rejected", missing).items():
            self.st.representatives[rid] = {**row, "fate": row["reason"]}

    # kept and rejected alike ---------------------------------------------------------------------
    def _add_scores_metadata_sources(self, batch: pa.RecordBatch, fate: np.ndarray,
                                     lengths: np.ndarray) -> None:
        self._add_scores(batch, fate, lengths)
        self._add_metadata(batch)
        self._add_sources(batch, fate, lengths)

    def _add_scores(self, batch: pa.RecordBatch, fate: np.ndarray, lengths: np.ndarray) -> None:
        """Flatten the ``scores`` map and append each key's values to its column."""
        parents, keys, items = map_entries(batch.column("scores"))
        if not len(keys):
            return
        vals = pc.fill_null(items, np.nan).to_numpy(zero_copy_only=False)
        for name, sel in _entries_by_key(keys):
            col = self.score_columns.get(name)
            if col is None:
                col = self.score_columns[name] = _ScoreColumn(self.capacity)
            p = parents[sel]
            col.append(vals[sel], lengths[p], fate[p])

    def _add_metadata(self, batch: pa.RecordBatch) -> None:
        """C4-style line cleaners' counts (summed) and annotate-mode verdicts (counted)."""
        _, keys, items = map_entries(batch.column("metadata"))
        if not len(keys):
            return
        c4 = pc.starts_with(keys, "c4.")
        if pc.any(c4).as_py():
            _sum_numeric(self.st.metadata_sums, keys.filter(c4), items.filter(c4))
        ann = pc.starts_with(keys, "annotate.")
        if pc.any(ann).as_py():
            self.st.annotated.update(v for v in items.filter(ann).to_pylist() if v)

    def _add_sources(self, batch: pa.RecordBatch, fate: np.ndarray, lengths: np.ndarray) -> None:
        st = self.st
        for s, n, c, f in _group(batch.column("source"), lengths, fate):
            row = self.sources.get(s)
            if row is None:
                row = self.sources[s] = {"input": 0, "kept": 0, "rejected": 0, "input_chars": 0,
                                         "kept_chars": 0, "by_filter": Counter()}
            row["input"] += n
            row["input_chars"] += c
            if f == KEPT:
                row["kept"] += n
                row["kept_chars"] += c
            else:
                row["rejected"] += n
                row["by_filter"][st.by_reason[st.reasons[f - 1]].filter] += n

    # errors ---------------------------------------------------------------------------------
    def add_errors(self, batch: pa.RecordBatch) -> None:
        st = self.st
        for f, line, t, msg in zip(*(batch.column(c).to_pylist() for c in ERROR_COLUMNS),
                                   strict=True):
            st.errors += 1
            st.errors_by_type[t] += 1
            if len(st.error_examples[t]) < 3:
                st.error_examples[t].append(f"{f}:{line}: {msg}")

    def finish(self) -> RunStats:
        st = self.st
        for key, col in sorted(self.score_columns.items()):
            st.scores[key] = col.series(key)
        st.by_source = dict(sorted(self.sources.items()))
        summary_input = st.run.summary.get("input_records")
        st.input_records = int(summary_input) if summary_input is not None else \
            st.kept_docs + st.rejected_docs + st.errors
        return st


def _entries_by_key(keys: pa.Array) -> Iterator[tuple[str, np.ndarray]]:
    """(key, positions of its entries) for each distinct key of a flattened map, the
    positions in their original order."""
    enc = pc.dictionary_encode(keys).combine_chunks() if isinstance(keys, pa.ChunkedArray) \
        else pc.dictionary_encode(keys)
    codes = enc.indices.to_numpy()
    names = enc.dictionary.to_pylist()
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    for i, name in enumerate(names):
        yield name, order[bounds[i] : bounds[i + 1]]


def _group(source: pa.Array, lengths: np.ndarray, fate: np.ndarray):
    """Yield (source, docs, chars, fate) for each distinct (source, fate) pair of a batch."""
    enc = pc.dictionary_encode(pc.fill_null(source, ""))
    names = enc.dictionary.to_pylist()
    width = int(fate.max(initial=0)) + 1
    combo = enc.indices.to_numpy().astype(np.int64) * width + fate
    keys, inv = np.unique(combo, return_inverse=True)
    counts = np.bincount(inv)
    chars = np.bincount(inv, weights=lengths)
    for k, n, c in zip(keys, counts, chars, strict=True):
        yield names[k // width], int(n), int(c), int(k % width)


def _sum_numeric(sums: dict[str, float], keys: pa.Array, values: pa.Array) -> None:
    """Add numeric metadata values per key (C4's counts are stored as strings); values that
    are not numbers (free-text facts) are skipped."""
    try:
        nums = pc.cast(values, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        ok = [(k, float(v)) for k, v in zip(keys.to_pylist(), values.to_pylist(), strict=True)
              if v is not None and _is_number(v)]
        for k, v in ok:
            sums[k] += v
        return
    enc = pc.dictionary_encode(keys)
    totals = np.bincount(enc.indices.to_numpy(), weights=pc.fill_null(nums, 0.0).to_numpy(
        zero_copy_only=False), minlength=len(enc.dictionary))
    for k, v in zip(enc.dictionary.to_pylist(), totals.tolist(), strict=True):
        sums[k] += v


def _is_number(v: str) -> bool:
    try:
        float(v)
    except ValueError:
        return False
    return True
