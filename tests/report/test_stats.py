"""The report's numbers against the run's own outputs, recounted independently here."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pyarrow.parquet as pq
import pytest

from gristmill.report import whatif
from gristmill.report.run import RunDir, RunDirError, map_entries
from gristmill.report.stats import compute_stats
from gristmill.schemas import entries_to_dict


def _read(run_dir, kind):
    files = sorted((run_dir / kind).glob("*.parquet"))
    return [row for f in files for row in pq.read_table(f).to_pylist()]


@pytest.fixture(scope="module")
def stats(run_dir):
    return compute_stats(RunDir.open(run_dir))


@pytest.fixture(scope="module")
def outputs(run_dir):
    return {k: _read(run_dir, k) for k in ("kept", "rejected", "errors")}


def test_counts_and_chars_match_outputs(run_dir, stats, outputs):
    kept, rej, err = outputs["kept"], outputs["rejected"], outputs["errors"]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert stats.kept_docs == len(kept) == summary["kept"]
    assert stats.rejected_docs == len(rej) == summary["rejected"]
    assert stats.errors == len(err) == summary["errors"] == 1
    assert stats.input_records == summary["input_records"] == len(kept) + len(rej) + len(err)
    assert stats.kept_chars == sum(len(r["text"]) for r in kept)
    by_reason = Counter(r["reason"] for r in rej)
    chars = Counter()
    for r in rej:
        chars[r["reason"]] += len(r["text"])
    assert {r: s.docs for r, s in stats.by_reason.items()} == dict(by_reason)
    assert {r: s.chars for r, s in stats.by_reason.items()} == dict(chars)
    # the sample run trips a filter and both dedup stages
    assert {"word_count.too_few_words", "exact_dedup.duplicate"} <= set(by_reason)
    assert stats.errors_by_type == Counter(r["error_type"] for r in err)


def test_funnel_in_pipeline_order(stats, outputs):
    steps = stats.funnel()
    assert [s.label for s in steps[:2]] == ["input records", "parsed (minus errors)"]
    assert [s.stage for s in steps[:2]] == ["input", "parse"] and steps[-1].label == "kept"
    after = {s.filter: s for s in steps if s.filter is not None}
    assert list(after) == ["word_count", "special_characters", "c4", "exact_dedup", "minhash"]
    assert after["word_count"].label == "after word_count"
    assert after["word_count"].stage == "filters" and after["minhash"].stage == "dedup"
    removed = [r for r in outputs["rejected"] if r["filter"] == "word_count"]
    assert after["word_count"].documents == stats.input_records - 1 - len(removed)
    assert after["word_count"].chars == stats.input_chars - sum(len(r["text"]) for r in removed)
    assert steps[-1].documents == len(outputs["kept"])
    assert steps[-1].chars == sum(len(r["text"]) for r in outputs["kept"])
    # nothing unaccounted between the last stage and kept
    assert (steps[-2].documents, steps[-2].chars) == (steps[-1].documents, steps[-1].chars)


def test_per_source(stats, outputs):
    for source, row in stats.by_source.items():
        kept = [r for r in outputs["kept"] if r["source"] == source]
        rej = [r for r in outputs["rejected"] if r["source"] == source]
        assert row["kept"] == len(kept) and row["rejected"] == len(rej)
        assert row["input_chars"] == sum(len(r["text"]) for r in kept + rej)
        assert dict(row["by_filter"]) == dict(Counter(r["filter"] for r in rej))


def test_dedup_clusters(stats, outputs):
    dups = [r for r in outputs["rejected"] if r["duplicate_of"]]
    expect = Counter((r["filter"], r["duplicate_of"]) for r in dups)
    assert stats.clusters == dict(expect)
    # sampled duplicates come with the document they matched; exact ones have its text
    kept_text = {r["id"]: r["text"] for r in outputs["kept"]}
    for row in stats.samples["exact_dedup.duplicate"]:
        rep = stats.representatives[row["duplicate_of"]]
        assert rep["text"] == kept_text[row["duplicate_of"]]


def test_scores_are_every_stored_score(stats, outputs):
    vals = sorted(entries_to_dict(r["scores"])["word_count.words"] for r in outputs["kept"] + outputs["rejected"])
    assert sorted(stats.scores["word_count.words"].values.tolist()) == vals


def test_declared_rules_and_whatif(stats, outputs):
    rules = {r.reason: r for r in whatif.rules(stats)}
    rule = rules["word_count.too_few_words"]
    assert (rule.key, rule.side, rule.threshold, rule.inclusive) == ("word_count.words", "below", 8.0, False)
    # the upper bound never fired: it is declared all the same, with the configured param
    upper = rules["word_count.too_many_words"]
    assert (upper.key, upper.side, upper.threshold, upper.source) == ("word_count.words", "above", 2500, "declared")
    # no rules for dedup: its decisions cannot be replayed from per-document scores
    assert not [r for r in whatif.rules(stats) if r.filter in ("exact_dedup", "minhash")]
    docs = outputs["kept"] + outputs["rejected"]
    words = np.array([entries_to_dict(r["scores"])["word_count.words"] for r in docs])
    chars = np.array([len(r["text"]) for r in docs])
    curve = whatif.whatif(stats.scores[rule.key], rule)
    # at the configured threshold the rule alone removes exactly what the filter removed
    assert curve.docs_at_current == stats.by_reason["word_count.too_few_words"].docs
    for t, df, cf in zip(curve.thresholds, curve.docs_frac, curve.chars_frac, strict=True):
        assert df == pytest.approx((words < t).mean())
        assert cf == pytest.approx(chars[words < t].sum() / chars.sum())
    assert np.all(np.diff(curve.docs_frac) >= 0)


def test_histogram_counts_every_document(stats):
    series = stats.scores["word_count.words"]
    edges, groups = whatif.histogram(series, stats, 8.0)
    assert sum(int(c.sum()) for c in groups.values()) == len(series.values)
    assert groups["rejected by word_count"].sum() == stats.by_reason["word_count.too_few_words"].docs
    assert edges[0] <= 8.0 <= edges[-1]


@pytest.mark.parametrize("version", ["2", "1"])
def test_map_entries_on_sliced_arrays(version):
    """Schema 2's list of key/value structs and schema 1's map flatten the same way, so a
    report (and --compare) reads runs written before the change."""
    import pyarrow as pa

    from gristmill.schemas import entries_type

    typ = entries_type(pa.float64()) if version == "2" else pa.map_(pa.string(), pa.float64())
    arr = pa.array([[("a", 1.0)], None, [("b", 2.0), ("c", 3.0)], [("d", 4.0)]], type=typ)
    parents, keys, items = map_entries(arr.slice(1, 2))
    assert parents.tolist() == [1, 1] and keys.to_pylist() == ["b", "c"]
    assert items.to_pylist() == [2.0, 3.0]


def test_not_a_run_dir(tmp_path):
    with pytest.raises(RunDirError, match="not a gristmill run directory"):
        RunDir.open(tmp_path)
    with pytest.raises(RunDirError, match="not found"):
        RunDir.open(tmp_path / "nope")


@pytest.mark.parametrize("side", ["above", "below"])
@pytest.mark.parametrize("inclusive", [False, True])
def test_whatif_every_comparison(stats, side, inclusive):
    """The binned what-if equals brute force for all four comparisons, thresholds on data."""
    series = stats.scores["word_count.words"]
    rule = whatif.Rule("word_count", None, series.key, side, 30.0, inclusive, "test")
    curve = whatif.whatif(series, rule)
    v, c = series.values, series.chars.astype(float)
    for t, df, cf in zip(curve.thresholds, curve.docs_frac, curve.chars_frac, strict=True):
        gone = rule.removes(v, t)
        assert df == pytest.approx(gone.mean()) and cf == pytest.approx(c[gone].sum() / c.sum())
    assert curve.docs_at_current == int(rule.removes(v).sum())
