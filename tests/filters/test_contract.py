"""The filter contract: registry, enumerated reasons, filter/annotate modes, rewrites."""

from __future__ import annotations

import pytest

from gristmill.filters import Filter, Verdict, available, create, registered
from gristmill.filters.chain import ChainStep, FilterChain
from gristmill.filters.normalize import normalize_text
from gristmill.schemas import Document


def test_unknown_filter_lists_registered():
    with pytest.raises(ValueError, match="registered filters: .*word_count"):
        create("no_such_filter")
    assert "word_count" in available()


def test_bad_params_are_errors():
    with pytest.raises(ValueError, match="bad parameters for filter 'word_count'"):
        create("word_count", min_wrods=3)


def test_undeclared_reason_is_refused():
    f = create("word_count")
    with pytest.raises(ValueError, match="has no reason"):
        f.reject("too_long")
    assert f.all_reason_codes() == ["word_count.too_few_words", "word_count.too_many_words"]


def test_word_count_near_misses():
    f = create("word_count", min_words=3, max_words=5)
    assert f(Document("a", "one two")).reason == "word_count.too_few_words"
    assert f(Document("a", "one two three")).keep
    assert f(Document("a", "one two three four five")).keep
    v = f(Document("a", "one two three four five six"))
    assert (v.keep, v.reason, v.value, v.threshold) == (False, "word_count.too_many_words", 6, 5)
    assert v.scores == {"word_count.words": 6.0}


class _Shouty(Filter):
    name = "test_shouty"
    reasons = ("shouting",)

    def __call__(self, doc):
        upper = sum(c.isupper() for c in doc.text) / max(1, len(doc.text))
        if upper > 0.5:
            return self.reject("shouting", upper, 0.5, {"test_shouty.upper": upper})
        return Verdict(True, scores={"test_shouty.upper": upper}, text=doc.text.lower(), info={"test_shouty.lowered": "1"})



@pytest.fixture()
def shouty():
    """_Shouty registered for one test only (registrations are scoped, never global)."""
    with registered(_Shouty):
        yield


def test_chain_filter_and_annotate_modes(shouty):
    shouty = Document("s", "HELLO THERE FRIENDS")
    calm = Document("c", "Hello there, friends of mine")
    chain = FilterChain([ChainStep(create("test_shouty")), ChainStep(create("word_count", min_words=3))])
    doc, rej = chain(Document("s", shouty.text))
    assert rej is not None and rej.reason == "test_shouty.shouting" and rej.filter == "test_shouty"
    assert rej.doc.scores["test_shouty.upper"] > 0.5 and "word_count.words" not in rej.doc.scores
    doc, rej = chain(Document("c", calm.text))
    assert rej is None and doc.text == "hello there, friends of mine"  # the rewrite is applied
    assert doc.metadata["test_shouty.lowered"] == "1"
    assert doc.scores["word_count.words"] == 5
    # annotate: scored, never dropped; the would-be reason is recorded; no rewrite
    ann = FilterChain([ChainStep(create("test_shouty"), "annotate"), ChainStep(create("word_count", min_words=3))])
    doc, rej = ann(Document("s", shouty.text))
    assert rej is None and doc.metadata["annotate.test_shouty"] == "test_shouty.shouting"
    assert doc.text == shouty.text and doc.scores["test_shouty.upper"] > 0.5
    with pytest.raises(ValueError, match="mode"):
        FilterChain([ChainStep(create("word_count"), "drop")])


def test_normalize_text():
    assert normalize_text("cafe\u0301\r\nline\x00two  \rthree\ufeff") == "caf\u00e9\nlinetwo\nthree"
    s = "Already clean.\n\nTwo paragraphs."
    assert normalize_text(s) == s == normalize_text(normalize_text(s))


def test_instance_name_follows_the_filter():
    from gristmill.filters import instance_name

    assert instance_name("word_count", {"min_words": 3}) == "word_count"
    assert instance_name("fasttext", {"model": "m.bin", "remove": ["spam"], "tag": "spam"}) == "fasttext_spam"
    assert instance_name("word_count", {"bad": 1}) == "word_count"  # invalid params: the config name
