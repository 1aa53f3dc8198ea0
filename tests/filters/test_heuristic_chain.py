"""The heuristic filters together: registry, annotate mode, real demo text, the Beam pipeline."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from gristmill.cli.filters import register
from gristmill.config import load_config, parse_config
from gristmill.filters import available, create
from gristmill.filters.chain import ChainStep, FilterChain
from gristmill.filters.normalize import normalize_text
from gristmill.schemas import Document, entries_to_dict

HEURISTICS = ["gopher_quality", "gopher_repetition", "c4", "fineweb_quality", "special_characters"]
SCORE_PREFIXES = {name: f"{name}." for name in HEURISTICS}


def test_registered_with_namespaced_reasons():
    for name in HEURISTICS:
        assert name in available()
        f = create(name)
        codes = f.all_reason_codes()
        assert codes and all(c.startswith(name + ".") for c in codes)
        assert len(set(codes)) == len(codes)


def test_filters_list_cli(capsys):
    parser = argparse.ArgumentParser(prog="gristmill")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["filters", "list", "--json"])
    assert args.func(args) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["c4"]["params"]["min_words_per_line"] == 5
    assert "gopher_repetition.dup_10gram_char_frac" in rows["gopher_repetition"]["reasons"]
    assert rows["gopher_repetition"]["params"]["max_top_ngram_char_frac"] == {
        "2": 0.2,
        "3": 0.18,
        "4": 0.16,
    }


def test_default_config_runs_the_heuristic_chain():
    names = [f.name for f in load_config().filters]
    for name in HEURISTICS:
        assert name in names
    assert "word_count" in names


def _bad_doc() -> Document:
    # fails gopher_quality (too few words) and c4 (no line has an end mark)
    return Document(id="x", text="Buy now\nBuy now\nCheap pills here")


def test_annotate_mode_keeps_records_reasons_and_does_not_rewrite():
    chain = FilterChain([ChainStep(create(n), "annotate") for n in HEURISTICS])
    d, rej = chain(_bad_doc())
    assert rej is None
    assert d.text == "Buy now\nBuy now\nCheap pills here"  # c4's rewrite applies in filter mode only
    assert d.metadata["annotate.gopher_quality"] == "gopher_quality.too_few_words"
    assert d.metadata["annotate.c4"] == "c4.too_few_sentences"
    assert d.metadata["annotate.gopher_repetition"] == "gopher_repetition.dup_line_frac"
    assert "annotate.special_characters" not in d.metadata
    for name in HEURISTICS:
        assert any(k.startswith(SCORE_PREFIXES[name]) for k in d.scores), name


def test_filter_mode_stops_at_first_failure_with_scores_kept():
    chain = FilterChain([ChainStep(create(n)) for n in HEURISTICS])
    d, rej = chain(_bad_doc())
    assert rej is not None and rej.filter == "gopher_quality"
    assert rej.reason == "gopher_quality.too_few_words" and (rej.value, rej.threshold) == (7, 50)
    assert d.scores["gopher_quality.words"] == 7
    assert not any(k.startswith("c4.") for k in d.scores)


@pytest.mark.parametrize("text", ["", "  \n\t\n  "])
def test_empty_and_whitespace_through_the_chain(text):
    chain = FilterChain([ChainStep(create(n), "annotate") for n in HEURISTICS])
    d, rej = chain(Document(id="e", text=text))
    assert rej is None
    assert d.metadata["annotate.gopher_quality"] == "gopher_quality.too_few_words"
    assert d.metadata["annotate.c4"] == "c4.too_few_sentences"
    assert d.metadata["annotate.fineweb_quality"] == "fineweb_quality.empty"
    assert "annotate.gopher_repetition" not in d.metadata
    assert "annotate.special_characters" not in d.metadata


@pytest.fixture(scope="module")
def demo_docs(demo_dir) -> list[Document]:
    """~400 real demo documents: literature pieces, and fortunes and SMS joined into pages."""
    corpus = demo_dir / "corpus"
    docs = []
    for name, take, join in (("literature", 120, 1), ("fortunes", 1200, 12), ("sms_spam", 600, 15)):
        rows = [json.loads(x) for x in (corpus / f"{name}.jsonl").read_text().splitlines()[:take]]
        for i in range(0, len(rows), join):
            group = rows[i : i + join]
            text = "\n\n".join(r["text"] for r in group)
            docs.append(Document(id=group[0]["id"], text=normalize_text(text), source=name))
    return docs


def test_real_documents_every_score_every_time_and_cache_is_exact(demo_docs):
    """On real text: every filter writes all of its scores, kept or not, and a chain that
    shares the per-document analysis decides exactly as fresh filters on copies do."""
    expected_keys = {
        name: set(create(name)(Document("k", "A line. Another one!")).scores) for name in HEURISTICS
    }
    chain = FilterChain([ChainStep(create(n), "annotate") for n in HEURISTICS])
    fresh = {n: create(n) for n in HEURISTICS}
    reasons: dict[str, int] = {}
    for d in demo_docs:
        out, rej = chain(Document(d.id, d.text, d.source))
        assert rej is None
        for name in HEURISTICS:
            keys = {k for k in out.scores if k.startswith(SCORE_PREFIXES[name])}
            assert keys == expected_keys[name], (name, d.id)
            v = fresh[name](Document(d.id, "".join([d.text])))  # a new string object
            assert v.reason == out.metadata.get(f"annotate.{name}"), (name, d.id)
            for k, x in v.scores.items():
                assert out.scores[k] == x
        for k in out.metadata:
            if k.startswith("annotate."):
                reasons[out.metadata[k]] = reasons.get(out.metadata[k], 0) + 1
    # the real corpus exercises several outcomes of several filters
    assert reasons.get("c4.too_few_sentences", 0) > 0
    assert reasons.get("fineweb_quality.too_few_punct_lines", 0) > 0
    assert len({r.split(".")[0] for r in reasons}) >= 3
    assert sum(1 for d in demo_docs if d.source == "literature") >= 100


def test_beam_pipeline_runs_the_heuristic_chain(demo_docs, tmp_path: Path):
    from gristmill.pipelines.run import run_pipeline

    src = tmp_path / "in.jsonl"
    with open(src, "w", encoding="utf-8") as f:
        for d in demo_docs:
            f.write(json.dumps({"id": d.id, "text": d.text, "source": d.source}) + "\n")
    specs = [{"name": n} for n in ["c4", *HEURISTICS[:2], *HEURISTICS[3:]]]
    cfg = parse_config({"normalize": {}, "filters": specs, "output": {"num_shards": 1}})
    summary = run_pipeline([str(src)], str(tmp_path / "run"), cfg)

    chain = FilterChain.from_specs(specs)
    want_kept, want_rej = {}, {}
    for d in demo_docs:
        out, rej = chain(Document(d.id, d.text, d.source))
        (want_rej if rej else want_kept)[d.id] = (out, rej)

    kept = pq.read_table(tmp_path / "run" / "kept").to_pylist()
    rejected = pq.read_table(tmp_path / "run" / "rejected").to_pylist()
    assert summary["input_records"] == len(demo_docs)
    assert {r["id"] for r in kept} == set(want_kept) and len(kept) > 0
    assert {r["id"]: r["reason"] for r in rejected} == {i: r.reason for i, (_, r) in want_rej.items()}
    declared = {c for n in HEURISTICS for c in create(n).all_reason_codes()}
    for name, reasons in summary["by_filter"].items():
        assert set(reasons) <= declared, name
    assert sum(sum(r.values()) for r in summary["by_filter"].values()) == len(want_rej)
    for r in kept:
        out, _ = want_kept[r["id"]]
        assert r["text"] == out.text  # c4's rewrite survives the pipeline
        assert entries_to_dict(r["scores"]) == pytest.approx(out.scores)
        assert entries_to_dict(r["metadata"])["c4.lines_removed"] == out.metadata["c4.lines_removed"]
        for name in HEURISTICS:
            assert any(k.startswith(SCORE_PREFIXES[name]) for k in entries_to_dict(r["scores"]))
