"""gopher_quality: hand-computed scores, and a trigger and a near miss for every reason."""

from __future__ import annotations

import pytest
from heuristics_util import doc

from gristmill.filters import create

F = create("gopher_quality")


def reason(text: str, **params) -> str | None:
    f = create("gopher_quality", **params) if params else F
    return f(doc(text)).reason


def test_scores_hand_computed():
    text = "The cat, the dog.\n- a list item...\n#tag 42 and so"
    v = F(doc(text))
    s = v.scores
    # 12 words; 11 hold a letter or digit ("-" does not), with 3+3+3+3+1+4+4+3+2+3+2 = 31
    assert s["gopher_quality.words"] == 12
    assert s["gopher_quality.mean_word_length"] == pytest.approx(31 / 11)
    assert s["gopher_quality.hash_ratio"] == pytest.approx(1 / 12)
    assert s["gopher_quality.ellipsis_ratio"] == pytest.approx(1 / 12)
    assert s["gopher_quality.bullet_lines_frac"] == pytest.approx(1 / 3)
    assert s["gopher_quality.ellipsis_lines_frac"] == pytest.approx(1 / 3)
    assert s["gopher_quality.alpha_words_frac"] == pytest.approx(10 / 12)  # not "-", "42"
    assert s["gopher_quality.stop_words"] == 2  # "The"/"the" and "and"
    assert v.reason == "gopher_quality.too_few_words" and (v.value, v.threshold) == (12, 50)


BASE = "the and " + " ".join(["word"] * 48)  # 50 words, mean length 4, 2 stop words


def test_base_document_is_kept_with_every_score():
    v = F(doc(BASE))
    assert v.keep and v.reason is None
    assert set(v.scores) == {
        f"gopher_quality.{k}"
        for k in ["words", "mean_word_length", "hash_ratio", "ellipsis_ratio", "bullet_lines_frac", "ellipsis_lines_frac", "alpha_words_frac", "stop_words"]
    }


def test_too_few_and_too_many_words():
    assert reason(BASE.rsplit(" ", 1)[0]) == "gopher_quality.too_few_words"  # 49
    assert reason(BASE) is None  # 50
    assert reason(BASE, max_words=50) is None
    assert reason(BASE + " word", max_words=50) == "gopher_quality.too_many_words"


def test_mean_word_length_bounds():
    # (3 + 3 + 48 * 2) / 50 = 2.04 < 3; (6 + 48 * 3) / 50 = 3.0 exactly is kept
    assert reason("the and " + " ".join(["ab"] * 48)) == "gopher_quality.mean_word_length_too_short"
    assert reason("the and " + " ".join(["abc"] * 48)) is None
    # (6 + 47 * 10 + 24) / 50 = 10.0 kept; one more letter: 10.02
    long10 = "the and " + " ".join(["abcdefghij"] * 47) + " " + "a" * 24
    assert F(doc(long10)).scores["gopher_quality.mean_word_length"] == pytest.approx(10.0)
    assert reason(long10) is None
    assert reason(long10 + "a") == "gopher_quality.mean_word_length_too_long"


def test_punctuation_does_not_lengthen_words():
    # "word," counts 4 letters, "--" is not a word for the mean
    v = F(doc("the, and -- " + " ".join(["word,"] * 48)))
    assert v.scores["gopher_quality.mean_word_length"] == pytest.approx((3 + 3 + 48 * 4) / 50)


def test_hash_ratio():
    five = BASE.replace("word word word word word", "#w #w #w #w #w", 1)
    assert F(doc(five)).scores["gopher_quality.hash_ratio"] == pytest.approx(0.1)
    assert reason(five) is None
    assert reason(five.replace("word", "#w", 1)) == "gopher_quality.too_many_hashes"


def test_ellipsis_ratio():
    five = BASE.replace("word word word word word", "w... w... w... w... w…", 1)
    assert F(doc(five)).scores["gopher_quality.ellipsis_ratio"] == pytest.approx(0.1)
    assert reason(five) is None
    assert reason(five.replace("word", "w...", 1)) == "gopher_quality.too_many_ellipses"


def test_bullet_lines():
    # 11 lines: 9 bullets -> 9/11 = 0.82 kept; 10 of 11 -> 0.909 > 0.9 dropped
    nine = "\n".join(["the and"] + [f"• item{i}" for i in range(9)] + [" ".join(["word"] * 30)])
    assert F(doc(nine)).scores["gopher_quality.bullet_lines_frac"] == pytest.approx(9 / 11)
    assert reason(nine) is None
    ten = "\n".join(["- the and"] + [f"  * item{i}" for i in range(9)] + [" ".join(["word"] * 30)])
    assert F(doc(ten)).scores["gopher_quality.bullet_lines_frac"] == pytest.approx(10 / 11)
    assert reason(ten) == "gopher_quality.too_many_bullet_lines"
    # exactly 0.9 is kept
    exact = "\n".join([f"- the and w{i}" for i in range(9)] + [" ".join(["word"] * 30)])
    assert F(doc(exact)).scores["gopher_quality.bullet_lines_frac"] == pytest.approx(0.9)
    assert reason(exact) is None


def test_ellipsis_lines():
    body = [" ".join(["word"] * 6) for _ in range(10)]
    three = "the and\n" + "\n".join(b + ("..." if i < 3 else ".") for i, b in enumerate(body[:9]))
    # 10 non-empty lines, 3 end with "..." -> 0.3 kept; 4 -> 0.4 dropped
    assert F(doc(three)).scores["gopher_quality.ellipsis_lines_frac"] == pytest.approx(0.3)
    assert reason(three) is None
    four = "the and\n" + "\n".join(b + ("…" if i < 4 else ".") for i, b in enumerate(body[:9]))
    assert reason(four) == "gopher_quality.too_many_ellipsis_lines"


def test_alpha_words():
    ten = BASE.replace(" ".join(["word"] * 10), " ".join(["1999"] * 10), 1)
    assert F(doc(ten)).scores["gopher_quality.alpha_words_frac"] == pytest.approx(0.8)
    assert reason(ten) is None
    assert reason(ten.replace("word", "--", 1)) == "gopher_quality.too_few_alpha_words"


def test_stop_words_distinct_case_and_punctuation_insensitive():
    one = "the " + " ".join(["word"] * 49)
    assert reason(one) == "gopher_quality.too_few_stop_words"
    assert reason("the the " + " ".join(["word"] * 48)) == "gopher_quality.too_few_stop_words"
    v = F(doc("(THE and. " + " ".join(["word"] * 48)))
    assert v.keep and v.scores["gopher_quality.stop_words"] == 2


@pytest.mark.parametrize("text", ["", "   \n\t \n"])
def test_empty_and_whitespace(text):
    v = F(doc(text))
    assert v.reason == "gopher_quality.too_few_words"
    assert all(x == 0.0 for x in v.scores.values())


def test_cjk_without_spaces_has_too_few_words():
    # ~200 characters of Chinese prose: one "word" per unspaced run (documented behaviour)
    text = "我们今天去公园散步，天气很好，阳光明媚。" * 10
    v = F(doc(text))
    assert v.reason == "gopher_quality.too_few_words" and v.value == 1


def test_bad_params():
    with pytest.raises(ValueError, match="min_words"):
        create("gopher_quality", min_words=10, max_words=5)
