"""The ``fasttext`` filter on real SMS and literature text, in a chain and in a Beam run."""

from __future__ import annotations

import json
import pickle

import pyarrow.parquet as pq
import pytest

from demo_util import read_jsonl
from gristmill.classify.model import ModelLoadError, load_model
from gristmill.config import parse_config
from gristmill.filters import create
from gristmill.filters.chain import ChainStep, FilterChain
from gristmill.filters.text_units import clear_caches
from gristmill.schemas import Document, entries_to_dict


def _docs(rows: list[dict]) -> list[Document]:
    return [Document(r["id"], r["text"], r["source"], metadata={"label": r["label"]}) for r in rows]


@pytest.fixture(scope="module")
def sms(demo_dir) -> list[Document]:
    return _docs(read_jsonl(demo_dir / "corpus" / "sms_spam.jsonl", limit=800))


def _spam_filter(spam_model, **kw):
    return create("fasttext", model=str(spam_model.model_path), remove=["spam"],
                  threshold=spam_model.metrics["threshold"], tag="spam", **kw)


def test_removes_real_spam_and_keeps_ham(spam_model, sms):
    f = _spam_filter(spam_model)
    f.setup()
    verdicts = [(d.metadata["label"], f(d)) for d in sms]
    spam = [v for lab, v in verdicts if lab == "spam"]
    ham = [v for lab, v in verdicts if lab == "ham"]
    assert len(spam) > 50
    assert sum(not v.keep for v in spam) / len(spam) >= 0.85
    assert sum(not v.keep for v in ham) / len(ham) <= 0.02
    rejected = next(v for v in spam if not v.keep)
    assert rejected.reason == "fasttext_spam.above_threshold"
    assert rejected.value >= rejected.threshold == spam_model.metrics["threshold"]
    for _, v in verdicts:  # the probability is recorded kept or not
        assert set(v.scores) == {"fasttext_spam.spam"} and 0.0 <= v.scores["fasttext_spam.spam"] <= 1.0


def test_two_tagged_instances_have_distinct_names_in_one_chain(spam_model, sms):
    loose = create("fasttext", model=str(spam_model.model_path), remove="spam", threshold=0.2, tag="spam_loose")
    strict = _spam_filter(spam_model)
    assert (strict.name, loose.name) == ("fasttext_spam", "fasttext_spam_loose")
    assert type(strict).name == "fasttext"  # the registered name is untouched
    assert strict.all_reason_codes() == ["fasttext_spam.above_threshold"]
    chain = FilterChain([ChainStep(loose, "annotate"), ChainStep(strict, "filter")])
    out = [chain(d) for d in sms[:300]]
    assert strict._model is loose._model  # one model per file per process
    for doc, rej in out:
        assert {"fasttext_spam.spam", "fasttext_spam_loose.spam"} <= set(doc.scores)
        if rej is not None:
            assert rej.filter == "fasttext_spam" and rej.reason == "fasttext_spam.above_threshold"
    assert any(d.metadata.get("annotate.fasttext_spam_loose") == "fasttext_spam_loose.above_threshold"
               for d, _ in out)
    assert "name" not in strict.params() and strict.params()["tag"] == "spam"


def test_never_pickled_with_its_model(spam_model, sms):
    f = _spam_filter(spam_model)
    f.setup()
    blob = pickle.dumps(f)
    assert len(blob) < 2000  # the model (megabytes) is not in it
    g = pickle.loads(blob)
    assert g._model is None and g.name == "fasttext_spam"
    g.setup()
    assert g(sms[0]).scores == f(sms[0]).scores


def test_paragraph_scoring(spam_model, sms):
    spam_text = next(d.text for d in sms if d.metadata["label"] == "spam" and len(d.text) > 100)
    hams = [d.text for d in sms if d.metadata["label"] == "ham" and len(d.text) > 60][:4]
    doc = Document("mixed", "\n\n".join(hams + [spam_text]))
    whole, mean, mx = (_spam_filter(spam_model, paragraphs=p) for p in (None, "mean", "max"))
    s_mean, s_max = mean(doc).scores["fasttext_spam.spam"], mx(doc).scores["fasttext_spam.spam"]
    assert s_max > s_mean and s_max >= spam_model.metrics["threshold"]
    assert not mx(doc).keep and mean(doc).keep  # one spam paragraph among ham ones
    single = Document("one", spam_text)  # one paragraph: all modes agree
    assert whole(single).scores == mean(single).scores == mx(single).scores


def test_any_fasttext_model_by_path_and_labels(demo_dir):
    """A model gristmill did not train (fastText's lid.176) used as a plain fasttext filter."""
    lit = read_jsonl(demo_dir / "corpus" / "literature.jsonl")
    f = create("fasttext", model=str(demo_dir / "resources" / "lid.176.ftz"), remove=["fr"],
               threshold=0.5, tag="french", preprocess="single_line")
    f.setup()
    # Henry V, III.iv: Katharine's English lesson, in French
    french = next(r for r in lit if r["id"].startswith("shakespeare_modern/henry_v")
                  and "The French King's palace" in r["text"] and "Alice" in r["text"])
    v = f(Document(french["id"], french["text"]))
    assert not v.keep and v.scores["fasttext_french.fr"] > 0.8
    english = [f(Document(r["id"], r["text"])) for r in lit[:150]]
    assert all(v.keep and v.scores["fasttext_french.fr"] < 0.1 for v in english)


@pytest.mark.parametrize("kind", ["missing", "garbage", "truncated", "empty"])
def test_bad_model_file_fails_in_setup_before_any_document(kind, spam_model, tmp_path):
    path = tmp_path / f"{kind}.bin"
    if kind == "garbage":
        path.write_bytes(bytes(range(256)) * 8)
    elif kind == "truncated":
        path.write_bytes(spam_model.model_path.read_bytes()[:5000])
    elif kind == "empty":
        path.write_bytes(b"")
    f = create("fasttext", model=str(path), remove="spam", tag="spam")
    chain = FilterChain([ChainStep(f)])
    with pytest.raises(ModelLoadError) as e:
        chain.setup()
    assert str(path) in str(e.value) and "fasttext_spam" in str(e.value)
    assert ("not found" in str(e.value)) == (kind == "missing")


def test_wrong_label_or_params_are_clear_errors(spam_model):
    f = create("fasttext", model=str(spam_model.model_path), remove="toxic")
    with pytest.raises(ValueError, match=r"no label\(s\) \['toxic'\].*\['ham', 'spam'\]|no label\(s\) \['toxic'\].*\['spam', 'ham'\]"):
        f.setup()
    with pytest.raises(ValueError, match="paragraphs"):
        create("fasttext", model="m.bin", remove="spam", paragraphs="median")
    with pytest.raises(ValueError, match="threshold"):
        create("fasttext", model="m.bin", remove="spam", threshold=1.5)
    with pytest.raises(ValueError, match="bad parameters"):
        create("fasttext", model="m.bin", labels=["spam"])
    with pytest.raises(ValueError, match="remove"):  # which labels to remove must be said
        create("fasttext", model="m.bin")


def test_inside_a_two_worker_beam_run(spam_model, demo_dir, tmp_path):
    """Real SMS through `run_pipeline(..., workers=2)`: the model loads in each worker process
    (the filter travels pickled without it) and decisions match the plain filter's."""
    from gristmill.pipelines.run import run_pipeline

    rows = read_jsonl(demo_dir / "corpus" / "sms_spam.jsonl", limit=400)
    data = tmp_path / "sms.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    params = {"model": str(spam_model.model_path), "remove": ["spam"],
              "threshold": spam_model.metrics["threshold"], "tag": "spam"}
    cfg = parse_config({"filters": [{"name": "fasttext", "params": params}], "output": {"num_shards": 2}})
    s = run_pipeline([str(data)], str(tmp_path / "run"), cfg, workers=2)
    plain = create("fasttext", **params)
    want_rejected = {r["id"] for r in rows if not plain(Document(r["id"], r["text"])).keep}
    assert s["input_records"] == 400 and s["rejected"] == len(want_rejected) > 20
    assert s["by_filter"]["fasttext_spam"] == {"fasttext_spam.above_threshold": len(want_rejected)}
    rej = pq.read_table(tmp_path / "run" / "rejected").to_pylist()
    assert {r["id"] for r in rej} == want_rejected
    kept = pq.read_table(tmp_path / "run" / "kept").to_pylist()
    assert all(entries_to_dict(r["scores"])["fasttext_spam.spam"] < params["threshold"] for r in kept)

    bad = parse_config({"filters": [{"name": "fasttext", "params": {**params, "model": str(tmp_path / "nope.bin")}}]})
    with pytest.raises(Exception, match="nope.bin"):
        run_pipeline([str(data)], str(tmp_path / "bad"), bad, workers=2)
    assert not (tmp_path / "bad").exists()


def test_load_model_caches_per_file(spam_model):
    assert load_model(spam_model.model_path) is load_model(str(spam_model.model_path))


def test_label_probs_equal_the_wrappers_predict(spam_model, sms):
    """``label_probs`` calls fastText's binding directly; same probabilities as ``predict``."""
    from gristmill.classify.model import label_probs
    from gristmill.classify.preprocess import preprocess

    model = load_model(spam_model.model_path)
    for d in sms[:200]:
        line = preprocess(d.text)
        labels, probs = model.predict(line, k=-1)
        assert label_probs(model, line) == {lab.removeprefix("__label__"): min(float(p), 1.0)
                                            for lab, p in zip(labels, probs, strict=True)}
    with pytest.raises(ValueError, match="one line"):
        label_probs(model, "two\nlines")


def test_max_chars_scores_the_start_of_long_scenes(spam_model, demo_dir):
    """Real literature scenes (~7 KB): with ``max_chars`` the score is the score of the
    window (cut at a word boundary); short texts are scored whole."""
    from gristmill.classify.preprocess import window

    lit = [Document(r["id"], r["text"], r["source"])
           for r in read_jsonl(demo_dir / "corpus" / "literature.jsonl", limit=120) if len(r["text"]) > 3000]
    assert len(lit) > 30
    whole, head = _spam_filter(spam_model), _spam_filter(spam_model, max_chars=2000)
    key = "fasttext_spam.spam"
    for d in lit:
        assert head(d).scores == whole(Document(d.id, window(d.text, 2000))).scores
    assert sum(head(d).scores[key] != whole(d).scores[key] for d in lit) > len(lit) // 2
    short = Document("s", "Free entry in 2 a wkly comp to win FA Cup final tkts")
    assert head(short).scores == whole(short).scores
    assert head.params()["max_chars"] == 2000
    with pytest.raises(ValueError, match="max_chars"):
        create("fasttext", model="m.bin", remove="spam", max_chars=0)


def test_filters_of_one_chain_preprocess_a_document_once(spam_model, sms, monkeypatch):
    """Two gristmill-preprocessed fasttext filters in a chain share one tokenization of each
    document (when their windows agree); a filter with another window tokenizes its own."""
    from gristmill.classify.preprocess import PREPROCESSORS

    calls = []
    real = PREPROCESSORS["gristmill"]
    monkeypatch.setitem(PREPROCESSORS, "gristmill", lambda t: calls.append(t) or real(t))
    a, b = _spam_filter(spam_model), create("fasttext", model=str(spam_model.model_path), remove="spam",
                                            threshold=0.0, tag="b")
    chain = FilterChain([ChainStep(a, "annotate"), ChainStep(b, "annotate")])
    docs = [Document(d.id, d.text) for d in sms[:100]]
    clear_caches()  # earlier tests scored the same text objects
    for d in docs:
        chain(d)
    assert len(calls) == 100
    c = create("fasttext", model=str(spam_model.model_path), remove="spam", tag="c", max_chars=20)
    chain = FilterChain([ChainStep(a, "annotate"), ChainStep(c, "annotate")])
    calls.clear()
    clear_caches()  # the cache still holds these texts' whole-text tokenization
    for d in docs:
        chain(d)
    assert len(calls) == 200
    assert all(d.scores["fasttext_spam.spam"] == d.scores["fasttext_b.spam"] for d in docs)
