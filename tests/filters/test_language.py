"""The ``language`` filter with fastText's lid.176 on the real literature corpus."""

from __future__ import annotations

import pickle

import pytest

from demo_util import read_jsonl
from gristmill.classify.model import ModelLoadError
from gristmill.filters import create
from gristmill.filters.chain import ChainStep, FilterChain
from gristmill.filters.language import default_langid_model
from gristmill.schemas import Document


@pytest.fixture(scope="module")
def literature(demo_dir) -> dict[str, Document]:
    return {r["id"]: Document(r["id"], r["text"], r["source"])
            for r in read_jsonl(demo_dir / "corpus" / "literature.jsonl")}


def _french_scene(lit: dict[str, Document]) -> Document:
    return next(d for d in lit.values() if d.id.startswith("shakespeare_modern/henry_v")
                and "The French King's palace" in d.text and "Alice" in d.text)


def test_default_model_is_the_pinned_lid176(demo_dir):
    path = default_langid_model()
    assert path.name == "lid.176.ftz"
    assert path.read_bytes() == (demo_dir / "resources" / "lid.176.ftz").read_bytes()


def test_keeps_english_and_records_language(literature):
    f = create("language")  # default: English at 0.65, as FineWeb
    f.setup()
    english = [d for d in literature.values() if d.source == "shakespeare_modern"][:80]
    for d in english:
        v = f(d)
        assert v.keep, d.id
        assert v.info["language"] == "en" and float(v.info["language_score"]) >= 0.65
        assert v.scores["language.en"] == pytest.approx(float(v.info["language_score"]), abs=1e-4)


def test_rejects_french_scene_and_latin_milton(literature):
    f = create("language", languages=["en"], min_score=0.65)
    v = f(_french_scene(literature))
    assert not v.keep and v.reason == "language.wrong_language" and v.info["language"] == "fr"
    assert v.value == v.scores["language.en"] < 0.65 and v.threshold == 0.65
    # Milton wrote Latin and Italian poems too: some of his chunks are not English
    milton = [f(d) for d in literature.values() if d.source == "milton"]
    foreign = [v for v in milton if v.info["language"] != "en"]
    assert foreign and all(not v.keep for v in foreign)
    assert {"la", "it"} & {v.info["language"] for v in foreign}


def test_listing_more_languages_keeps_them(literature):
    f = create("language", languages=["en", "fr"])
    v = f(_french_scene(literature))
    assert v.keep and set(v.scores) == {"language.en", "language.fr"}


def test_low_score_versus_wrong_language():
    f = create("language", languages=["en"], min_score=0.65)
    assert f(Document("x", "The cat sat on the mat and it was fine.")).keep
    v = f(Document("x", "ok"))  # English is the best guess, but not a confident one
    assert not v.keep and v.reason == "language.low_score" and v.info["language"] == "en"
    v = f(Document("x", "Hello mon ami, the weather is très bien today."))
    assert not v.keep and v.reason == "language.wrong_language" and v.info["language"] == "fr"
    any_lang = create("language", languages=None, min_score=0.5)
    v = any_lang(Document("y", "Ceci est une phrase en français, écrite pour le test."))
    assert v.keep and v.info["language"] == "fr" and v.scores == {}


def test_in_a_chain_metadata_reaches_the_document(literature):
    chain = FilterChain([ChainStep(create("language"))])
    doc, rej = chain(_french_scene(literature))
    assert rej is not None and rej.filter == "language" and rej.reason == "language.wrong_language"
    assert doc.metadata["language"] == "fr"


def test_pickles_without_model_and_bad_inputs(tmp_path):
    f = create("language")
    f.setup()
    g = pickle.loads(pickle.dumps(f))
    assert g._model is None
    assert g(Document("e", "A short English sentence about the weather today.")).info["language"] == "en"
    with pytest.raises(ValueError, match="does not know"):
        create("language", languages=["english"]).setup()
    with pytest.raises(ModelLoadError, match="not found"):
        create("language", model=str(tmp_path / "nope.ftz")).setup()


def test_max_chars_detects_on_a_word_boundary_prefix(literature):
    """Real scenes: with ``max_chars`` the probabilities are those of the window (cut at a
    word boundary); only languages at or above the 0.01 floor are returned."""
    from gristmill.classify.preprocess import window

    long = [d for d in literature.values() if len(d.text) > 3000][:60]
    assert len(long) == 60
    head, whole = create("language", max_chars=1000), create("language")
    for d in long:
        p = head.detect(d.text)
        assert p == whole.detect(window(d.text, 1000))
        assert min(p.values()) >= 0.01
    assert any(head.detect(d.text) != whole.detect(d.text) for d in long)
