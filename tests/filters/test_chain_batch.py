"""``FilterChain.run_batch`` (stage by stage) gives what the chain gives one document at a
time, on real demo documents with the recommended chain; the per-text caches stay bounded; the
Beam filter DoFn batches and still writes the same run."""

from __future__ import annotations

import json
import random

import pyarrow.parquet as pq
import pytest

from demo_util import read_jsonl
from gristmill.config import load_config
from gristmill.filters import text_units
from gristmill.filters.chain import FilterChain
from gristmill.filters.normalize import normalize_text
from gristmill.filters.text_units import BATCH_ENTRIES, TextCache, analyze, clear_caches
from gristmill.pipelines.beam_util import copy_doc
from gristmill.schemas import Document


def _default_specs(spam_model) -> list[dict]:
    """``configs/default.yaml``'s filters; the small demo spam model stands in for both
    fastText models (the toxicity model comes from ``make models``, not built in tests)."""
    specs = []
    for s in load_config().filters:
        spec = s.model_dump()
        if spec["name"] == "fasttext":
            spec["params"] = {**spec["params"], "model": str(spam_model.model_path), "remove": ["spam"]}
        specs.append(spec)
    return specs


@pytest.fixture(scope="module")
def sample(demo_dir) -> list[Document]:
    """1,300 real documents of all three sources, normalized as the pipeline does, mixed."""
    corpus = demo_dir / "corpus"
    rows = (read_jsonl(corpus / "fortunes.jsonl", 700) + read_jsonl(corpus / "sms_spam.jsonl", 400)
            + read_jsonl(corpus / "literature.jsonl", 200))
    random.Random(4).shuffle(rows)
    return [Document(r["id"], normalize_text(r["text"], nfc=True, strip_controls=True), r["source"])
            for r in rows]


def _outcome(doc: Document, rej) -> tuple:
    return (doc.id, doc.text, sorted(doc.scores.items()), sorted(doc.metadata.items()),
            None if rej is None else (rej.doc is doc, rej.stage, rej.filter, rej.reason, rej.value,
                                      rej.threshold))


def test_batches_give_the_same_documents_scores_and_rejections(spam_model, sample):
    chain = FilterChain.from_specs(_default_specs(spam_model))
    clear_caches()
    one = [_outcome(*chain(copy_doc(d))) for d in sample]
    for size in (BATCH_ENTRIES, 97, len(sample)):  # the last one overflows the caches
        clear_caches()
        got = []
        for i in range(0, len(sample), size):
            got += [_outcome(*r) for r in chain.run_batch([copy_doc(d) for d in sample[i:i + size]])]
        assert got == one, size
    rejected_by = {o[4][2] for o in one if o[4] is not None}
    assert {"word_count", "language", "gopher_quality", "fasttext_spam"} <= rejected_by
    kept = [o for o in one if o[4] is None]
    assert 50 < len(kept) < len(sample)
    assert all("fasttext_toxicity.spam" in dict(o[2]) for o in kept)  # annotate step scored
    assert chain.run_batch([]) == []


def test_a_batch_analyzes_and_tokenizes_each_text_once(spam_model, sample, monkeypatch):
    """Stage-major order asks for a text's units again after the whole batch: the caches
    hold a batch, so each text is analyzed once and tokenized once for both fastText steps."""
    from gristmill.classify.preprocess import PREPROCESSORS

    made, tokenized = [], []
    real_units, real_prep = text_units.TextUnits, PREPROCESSORS["gristmill"]
    monkeypatch.setattr(text_units, "TextUnits", lambda t: made.append(t) or real_units(t))
    monkeypatch.setitem(PREPROCESSORS, "gristmill", lambda t: tokenized.append(t) or real_prep(t))
    chain = FilterChain.from_specs(_default_specs(spam_model))
    chain.setup()
    clear_caches()
    batch = [copy_doc(d) for d in sample[:BATCH_ENTRIES]]
    out = chain.run_batch(batch)
    analyzed = {id(t) for t in made}
    assert len(made) == len(analyzed) > 300  # no text analyzed twice
    reaching_fasttext = [d for d, rej in out if rej is None or rej.filter.startswith("fasttext")]
    assert len(tokenized) == len(reaching_fasttext) > 50  # spam and toxicity share one


def test_text_cache_is_bounded_and_keyed_on_identity(sample):
    texts = [d.text for d in sample]
    cache = TextCache(max_entries=100, max_chars=50_000)
    for t in texts:
        cache.put(t, len(t))
        assert len(cache) <= 100
        assert cache.chars <= 50_000 or len(cache) == 1
    last = texts[-1]
    assert cache.get(last) == len(last)
    assert cache.get(texts[0]) is None  # evicted, oldest first
    twin = "".join(list(last))  # equal text, another object: not the cached one
    assert twin == last and twin is not last and cache.get(twin) is None
    cache.put(last, "other", "key")
    assert cache.get(last, "key") == "other" and cache.get(last) == len(last)
    # The shared units cache stays within its bounds over the whole sample.
    clear_caches()
    units = [analyze(t) for t in texts]
    assert len(text_units._UNITS) <= BATCH_ENTRIES
    assert analyze(texts[-1]) is units[-1] and analyze(texts[0]) is not units[0]
    with pytest.raises(ValueError):
        TextCache(0, 10)


def test_the_filter_dofn_batches_and_writes_the_same_run(spam_model, demo_dir, tmp_path, monkeypatch):
    """``run_pipeline`` on 1,300 real documents: the DoFn flushes a full batch of 512 from
    ``process`` and the rest from ``finish_bundle``; the run equals a run that calls the chain
    one document at a time."""
    from gristmill.pipelines.run import run_pipeline

    corpus = demo_dir / "corpus"
    rows = (read_jsonl(corpus / "fortunes.jsonl", 700) + read_jsonl(corpus / "sms_spam.jsonl", 400)
            + read_jsonl(corpus / "literature.jsonl", 200))
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = load_config()
    cfg.dedup = None
    cfg.tokenize = None
    cfg.filters = [type(cfg.filters[0])(**s) for s in _default_specs(spam_model)]

    sizes: list[int] = []
    real = FilterChain.run_batch

    def counted(self, docs):
        sizes.append(len(docs))
        return real(self, docs)

    def read(run) -> dict:
        return {kind: sorted(pq.read_table(run / kind).to_pylist(), key=lambda r: r["id"])
                for kind in ("kept", "rejected")}

    monkeypatch.setattr(FilterChain, "run_batch", counted)
    batched = run_pipeline([str(src)], str(tmp_path / "batched"), cfg, workers=1)
    assert sum(sizes) == batched["input_records"] - batched["by_stage"].get("normalize", 0)
    assert max(sizes) == BATCH_ENTRIES and len(sizes) >= 3
    monkeypatch.setattr(FilterChain, "run_batch", lambda self, docs: [self(d) for d in docs])
    single = run_pipeline([str(src)], str(tmp_path / "single"), cfg, workers=1)
    assert (batched["kept"], batched["rejected"], batched["by_filter"]) == \
        (single["kept"], single["rejected"], single["by_filter"])
    assert read(tmp_path / "batched") == read(tmp_path / "single")
    assert len(batched["by_filter"]) >= 4 and batched["kept"] > 50
