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
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gristmill.report.run import RunDir, fetch_by_ids, map_entries, text_lengths

SAMPLES_PER_REASON = 3
SAMPLE_SEED = 0
KEPT = 0  # fate code of a kept document; rejected documents get 1 + index into reasons


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
        """Filters in pipeline order: configured filters, then the other stages (dedup) by
        the order a pipeline runs them, then anything else by name."""
        configured = [s["name"] for s in self.run.filter_specs]
        seen = {r.filter for r in self.by_reason.values()}
        stage_rank = {"normalize": 0, "filters": 1, "dedup": 2}
        dedup_rank = {"exact_dedup": 0, "exact": 0, "minhash": 1}
        stage_of = {r.filter: r.stage for r in self.by_reason.values()}
        rest = sorted(
            seen - set(configured),
            key=lambda f: (stage_rank.get(stage_of[f], 3), dedup_rank.get(f, 9), f),
        )
        return [f for f in configured] + rest

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

    def funnel(self) -> list[tuple[str, int]]:
        """(step, documents left) from input records to kept, in pipeline order."""
        steps = [("input records", self.input_records)]
        left = self.input_records - self.errors
        steps.append(("parsed (minus errors)", left))
        for f, info in self.by_filter().items():
            left -= info["docs"]
            steps.append((f"after {f}", left))
        steps.append(("kept", self.kept_docs))
        return steps


class _Reservoir:
    """Uniform sample of k rows per reason over a stream (priority sampling, seeded)."""

    def __init__(self, k: int, seed: int) -> None:
        self.k = k
        self.rng = np.random.default_rng(seed)
        self.held: dict[int, list[tuple[float, dict]]] = defaultdict(list)

    def offer(self, batch: pa.RecordBatch, fate: np.ndarray) -> None:
        u = self.rng.random(batch.num_rows)
        for code in np.unique(fate):
            idx = np.flatnonzero(fate == code)
            if len(idx) > self.k:
                idx = idx[np.argpartition(u[idx], self.k)[: self.k]]
            held = self.held[int(code)]
            worst = max((p for p, _ in held), default=2.0)
            if len(held) >= self.k:
                idx = idx[u[idx] < worst]
            if len(idx) == 0:
                continue
            rows = batch.take(pa.array(idx)).to_pylist()
            held.extend(zip(u[idx].tolist(), rows, strict=True))
            held.sort(key=lambda pr: pr[0])
            del held[self.k :]

    def rows(self, code: int) -> list[dict]:
        return [r for _, r in sorted(self.held.get(code, []), key=lambda pr: pr[1]["id"])]


def compute_stats(run: RunDir, samples_per_reason: int = SAMPLES_PER_REASON) -> RunStats:
    """Read the run once (rejected, then kept, then errors) and aggregate."""
    st = RunStats(run=run)
    reason_index: dict[str, int] = {}
    # Per score key, columns preallocated to the run's row count (np.empty touches no memory
    # until written) and filled batch by batch: no list of parts to concatenate at the end,
    # which would double the peak.
    capacity = run.num_rows("kept") + run.num_rows("rejected")
    score_cols: dict[str, list] = {}

    def score_append(name: str, vals: np.ndarray, chars: np.ndarray, fate: np.ndarray) -> None:
        col = score_cols.get(name)
        if col is None:
            col = score_cols[name] = [np.empty(capacity, np.float64), np.empty(capacity, np.int32),
                                      np.empty(capacity, np.int32), 0]
        n, k = col[3], len(vals)
        col[0][n : n + k], col[1][n : n + k], col[2][n : n + k] = vals, chars, fate
        col[3] = n + k

    sources: dict[str, dict[str, Any]] = {}
    reservoir = _Reservoir(samples_per_reason, SAMPLE_SEED)

    def source_row(name: str) -> dict[str, Any]:
        if name not in sources:
            sources[name] = {"input": 0, "kept": 0, "rejected": 0, "input_chars": 0,
                             "kept_chars": 0, "by_filter": Counter()}
        return sources[name]

    def fold_common(batch: pa.RecordBatch, fate: np.ndarray, lengths: np.ndarray) -> None:
        # scores: flatten the map, group entries by key
        parents, keys, items = map_entries(batch.column("scores"))
        if len(keys):
            enc = pc.dictionary_encode(keys).combine_chunks() if isinstance(keys, pa.ChunkedArray) \
                else pc.dictionary_encode(keys)
            codes = enc.indices.to_numpy()
            names = enc.dictionary.to_pylist()
            vals = pc.fill_null(items, np.nan).to_numpy(zero_copy_only=False)
            order = np.argsort(codes, kind="stable")
            bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
            for i, name in enumerate(names):
                sel = order[bounds[i] : bounds[i + 1]]
                p = parents[sel]
                score_append(name, vals[sel], lengths[p], fate[p])
        # metadata: C4-style line cleaners' counts and annotate-mode verdicts
        parents, keys, items = map_entries(batch.column("metadata"))
        if len(keys):
            c4 = pc.starts_with(keys, "c4.")
            if pc.any(c4).as_py():
                _sum_numeric(st.metadata_sums, keys.filter(c4), items.filter(c4))
            ann = pc.starts_with(keys, "annotate.")
            if pc.any(ann).as_py():
                st.annotated.update(v for v in items.filter(ann).to_pylist() if v)
        # per source
        for s, n, c, f in _group(batch.column("source"), lengths, fate):
            row = source_row(s)
            row["input"] += n
            row["input_chars"] += c
            if f == KEPT:
                row["kept"] += n
                row["kept_chars"] += c
            else:
                row["rejected"] += n
                row["by_filter"][st.by_reason[st.reasons[f - 1]].filter] += n

    # rejected ----------------------------------------------------------------------------
    cols = ["id", "text", "source", "metadata", "scores", "stage", "filter", "reason", "value",
            "threshold", "duplicate_of"]
    for batch in run.iter_batches("rejected", cols):
        n = batch.num_rows
        lengths = text_lengths(batch.column("text"))
        enc = pc.dictionary_encode(pc.fill_null(batch.column("reason"), ""))
        idx = enc.indices.to_numpy()
        lut = np.empty(len(enc.dictionary), dtype=np.int32)
        for j, r in enumerate(enc.dictionary.to_pylist()):
            code = reason_index.get(r)
            if code is None:
                first = int(np.argmax(idx == j))
                st.reasons.append(r)
                code = reason_index[r] = len(st.reasons)
                st.by_reason[r] = ReasonStats(r, batch.column("filter")[first].as_py() or
                                              r.split(".")[0], batch.column("stage")[first].as_py() or "")
            lut[j] = code
        fate = lut[idx] if n else np.empty(0, dtype=np.int32)
        docs = np.bincount(fate, minlength=len(st.reasons) + 1)
        chars = np.bincount(fate, weights=lengths, minlength=len(st.reasons) + 1)
        for code in np.flatnonzero(docs):
            rs = st.by_reason[st.reasons[code - 1]]
            rs.docs += int(docs[code])
            rs.chars += int(chars[code])
        thr = pc.fill_null(batch.column("threshold"), np.nan).to_numpy(zero_copy_only=False)
        for code in np.flatnonzero(docs):
            t = thr[fate == code]
            t = t[~np.isnan(t)]
            if len(t):
                vals, counts = np.unique(t, return_counts=True)
                th = st.by_reason[st.reasons[code - 1]].thresholds
                for v, c in zip(vals.tolist(), counts.tolist(), strict=True):
                    th[v] += c
        st.rejected_docs += n
        st.rejected_chars += int(lengths.sum())
        fold_common(batch, fate, lengths)
        dup = batch.column("duplicate_of")
        has_dup = pc.is_valid(dup)
        if pc.any(has_dup).as_py():
            sub = batch.filter(has_dup)
            g = pa.table({"f": sub.column("filter"), "rep": sub.column("duplicate_of"),
                          "sim": pc.fill_null(sub.column("value"), np.nan)})
            for row in g.group_by(["f", "rep"]).aggregate([("rep", "count")]).to_pylist():
                key = (row["f"], row["rep"])
                st.clusters[key] = st.clusters.get(key, 0) + row["rep_count"]
            for f in pc.unique(g.column("f")).to_pylist():
                sims = g.filter(pc.equal(g.column("f"), f)).column("sim")
                st.dup_similarity[f].append(sims.to_numpy())
        reservoir.offer(batch, fate)

    for r, code in reason_index.items():
        st.samples[r] = reservoir.rows(code)
    wanted_reps = {s["duplicate_of"] for rows in st.samples.values() for s in rows
                   if s.get("duplicate_of")}

    # kept -----------------------------------------------------------------------------------
    for batch in run.iter_batches("kept", ["id", "text", "source", "metadata", "scores"]):
        lengths = text_lengths(batch.column("text"))
        fate = np.zeros(batch.num_rows, dtype=np.int32)
        st.kept_docs += batch.num_rows
        st.kept_chars += int(lengths.sum())
        fold_common(batch, fate, lengths)
        if wanted_reps:
            mask = pc.is_in(batch.column("id"), value_set=pa.array(sorted(wanted_reps)))
            if pc.any(mask).as_py():
                for row in batch.filter(mask).to_pylist():
                    st.representatives[row["id"]] = {**row, "fate": "kept"}
    missing = wanted_reps - set(st.representatives)
    for rid, row in fetch_by_ids(run, "rejected", missing).items():
        st.representatives[rid] = {**row, "fate": row["reason"]}

    # errors ---------------------------------------------------------------------------------
    for batch in run.iter_batches("errors", ["input_file", "line", "error_type", "message"]):
        for f, line, t, msg in zip(*(batch.column(c).to_pylist() for c in
                                     ("input_file", "line", "error_type", "message")), strict=True):
            st.errors += 1
            st.errors_by_type[t] += 1
            if len(st.error_examples[t]) < 3:
                st.error_examples[t].append(f"{f}:{line}: {msg}")

    for key, (values, chars, fates, n) in sorted(score_cols.items()):
        st.scores[key] = ScoreSeries(key=key, values=values[:n], chars=chars[:n], fate=fates[:n])
    st.by_source = dict(sorted(sources.items()))
    summary_input = run.summary.get("input_records")
    st.input_records = int(summary_input) if summary_input is not None else \
        st.kept_docs + st.rejected_docs + st.errors
    return st


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
