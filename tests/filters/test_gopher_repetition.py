"""gopher_repetition: hand-computed scores, exact n-gram counting, every reason and near miss."""

from __future__ import annotations

import collections
import random

import pytest
from heuristics_util import doc, pad_to, unique_words

from gristmill.filters import create
from gristmill.filters.gopher_repetition import DUP_NGRAMS, TOP_NGRAMS, ngram_scores

F = create("gopher_repetition")
TOP = dict(TOP_NGRAMS)
DUP = dict(DUP_NGRAMS)


def test_scores_hand_computed():
    text = "a b c\n\na b c\n\nx y z"  # 19 characters
    s = F(doc(text)).scores
    assert s["gopher_repetition.dup_para_frac"] == pytest.approx(1 / 3)
    assert s["gopher_repetition.dup_para_char_frac"] == pytest.approx(5 / 19)
    assert s["gopher_repetition.dup_line_frac"] == pytest.approx(1 / 3)
    assert s["gopher_repetition.dup_line_char_frac"] == pytest.approx(5 / 19)
    # "a b" and "b c" occur twice (3 chars each): 2 * 3; "a b c" twice: 2 * 5; no 4-gram twice
    assert s["gopher_repetition.top_2gram_char_frac"] == pytest.approx(6 / 19)
    assert s["gopher_repetition.top_3gram_char_frac"] == pytest.approx(10 / 19)
    assert s["gopher_repetition.top_4gram_char_frac"] == 0.0
    assert all(s[f"gopher_repetition.dup_{n}gram_char_frac"] == 0.0 for n in DUP)
    assert len(s) == 4 + len(TOP) + len(DUP)


def test_dup_ngram_counts_every_covered_word_once():
    # "p q r s t" then again: the second copy's 5 words (5 chars) are covered by its one
    # repeated 5-gram; the overlapping 5-grams of a 7-word repeat cover 7 words, not 3 * 5.
    top, dup = ngram_scores(["p", "q", "r", "s", "t", "x", "p", "q", "r", "s", "t"], (2,), (5, 6))
    assert dup == {5: 5, 6: 0}
    top, dup = ngram_scores(["a", "b", "c", "d", "e", "f", "g", "x", "a", "b", "c", "d", "e", "f", "g"], (2,), (5, 6, 7, 8))
    assert dup == {5: 7, 6: 7, 7: 7, 8: 0}
    # a top n-gram that occurs once is not a repetition
    assert ngram_scores(["one", "two", "three"], (2, 3), ()) == ({2: 0, 3: 0}, {})


def _brute(words, tops, dups):
    top, dup = {}, {}
    for n in tops:
        c = collections.Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
        best = max(c.values(), default=0)
        top[n] = 0 if best < 2 else max(best * len(" ".join(k)) for k, v in c.items() if v == best)
    for n in dups:
        seen, cov = set(), [False] * len(words)
        for i in range(len(words) - n + 1):
            k = tuple(words[i : i + n])
            if k in seen:
                cov[i : i + n] = [True] * n
            seen.add(k)
        dup[n] = sum(len(w) for w, c in zip(words, cov, strict=True) if c)
    return top, dup


def test_ngram_scores_match_brute_force():
    rng = random.Random(0)
    vocab = ["a", "bb", "ccc", "dd", "e", "ffff", "g", "hh"]
    for _ in range(400):
        v = rng.choice([1, 2, 3, 8])
        words = [rng.choice(vocab[:v]) for _ in range(rng.randint(0, 60))]
        assert ngram_scores(words, tuple(TOP), tuple(DUP)) == _brute(words, TOP, DUP), words


def _paras(dups: int, uniques: int, sep: str) -> str:
    w = unique_words()
    paras = ["ok"] * dups + [" ".join(next(w) for _ in range(10)) for _ in range(uniques)]
    # interleave so no two "ok" are adjacent
    out, extra = [], paras[dups:]
    for i in range(dups):
        out += ["ok", extra[i]] if i < len(extra) else ["ok"]
    out += extra[dups:]
    return sep.join(out)


def test_dup_para_frac():
    text = _paras(5, 6, "\n\n")  # 4 of 11 paragraphs repeat "ok": 0.36
    v = F(doc(text))
    assert v.reason == "gopher_repetition.dup_para_frac" and v.value == pytest.approx(4 / 11)
    near = _paras(4, 6, "\n\n")  # 3 of 10 = 0.3 exactly: kept
    v = F(doc(near))
    assert v.keep and v.scores["gopher_repetition.dup_para_frac"] == pytest.approx(0.3)


def test_dup_line_frac():
    v = F(doc(_paras(5, 6, "\n")))  # one paragraph, 4 of 11 lines repeated
    assert v.reason == "gopher_repetition.dup_line_frac"
    assert v.scores["gopher_repetition.dup_para_frac"] == 0.0
    v = F(doc(_paras(4, 6, "\n")))
    assert v.keep and v.scores["gopher_repetition.dup_line_frac"] == pytest.approx(0.3)


def _long_repeat(sep: str, filler_units: int) -> str:
    w = unique_words()
    long = " ".join(next(w) for _ in range(25))  # 99 characters
    rest = [" ".join(next(w) for _ in range(5)) for _ in range(filler_units)]  # 19 each
    return sep.join([long, rest[0], long, *rest[1:]])


def test_dup_para_char_frac():
    # 1 repeat in 6 paragraphs (1/6, under 0.3); the repeat holds 99 of 99*2 + 19*4 + 2*5
    text = _long_repeat("\n\n", 4)
    v = F(doc(text))
    assert len(text) == 284
    assert v.reason == "gopher_repetition.dup_para_char_frac" and v.value == pytest.approx(99 / 284)
    # 99 / (99*2 + 19*30 + 2*31) = 99/830 = 0.119; its 75 word characters are also a
    # repeated 5..10-gram: 75/830 = 0.090, under all those limits
    near = _long_repeat("\n\n", 30)
    v = F(doc(near))
    assert v.keep and v.scores["gopher_repetition.dup_para_char_frac"] == pytest.approx(99 / 830)
    assert v.scores["gopher_repetition.dup_10gram_char_frac"] == pytest.approx(75 / 830)


def test_dup_line_char_frac():
    v = F(doc(_long_repeat("\n", 4)))
    assert v.reason == "gopher_repetition.dup_line_char_frac"
    assert v.scores["gopher_repetition.dup_para_char_frac"] == 0.0
    v = F(doc(_long_repeat("\n", 30)))
    assert v.keep and v.scores["gopher_repetition.dup_line_char_frac"] == pytest.approx(99 / 799)


def _top(n: int, k: int, frac: float) -> str:
    """An n-gram of 2-letter words repeated k times, each copy followed by a fresh word,
    padded with fresh words until its top-n-gram fraction is just under ``frac``."""
    w = unique_words()
    gram = " ".join(["aa", "bb", "cc", "dd"][:n])
    parts = [p for _ in range(k) for p in (gram, next(w))]
    return pad_to(parts, int(k * len(gram) / frac) + 1, w)


@pytest.mark.parametrize("n", sorted(TOP))
def test_top_ngram(n):
    thr = TOP[n]
    lower = TOP.get(n - 1, 1.0)  # the next shorter n-gram's limit: stay under it
    gram_len = 3 * n - 1
    # trigger: between thr and what the shorter n-grams inside allow
    target = max(thr * 1.05, min(thr * 1.3, lower * gram_len / (gram_len - 3) * 0.95))
    text = _top(n, 10, target)
    v = F(doc(text))
    assert v.reason == f"gopher_repetition.top_{n}gram_char_frac", v.scores
    assert v.value == pytest.approx(10 * gram_len / len(text))
    near = _top(n, 10, thr)
    v = F(doc(near))
    assert v.keep, v.scores
    assert thr - 0.01 < v.scores[f"gopher_repetition.top_{n}gram_char_frac"] <= thr


def _dup(n: int, blocks: int, frac: float) -> str:
    """``blocks`` distinct n-word blocks, each appearing twice (fresh words around them),
    padded until the duplicated characters are just under ``frac`` of the text."""
    w = unique_words()
    parts = []
    for _ in range(blocks):
        blk = " ".join(next(w) for _ in range(n))
        parts += [blk, next(w), blk, next(w)]
    dup_chars = blocks * n * 3
    return pad_to(parts, int(dup_chars / frac) + 1, w)


@pytest.mark.parametrize("n", sorted(DUP))
def test_dup_ngram(n):
    thr = DUP[n]
    upper = DUP.get(n - 1, 1.0)  # shorter n-grams see the same characters: stay under theirs
    text = _dup(n, 8, (thr + min(upper, thr + 0.02)) / 2)
    v = F(doc(text))
    assert v.reason == f"gopher_repetition.dup_{n}gram_char_frac", v.scores
    assert v.value == pytest.approx(8 * n * 3 / len(text))
    near = _dup(n, 8, thr)
    v = F(doc(near))
    assert v.keep, v.scores
    assert thr - 0.01 < v.scores[f"gopher_repetition.dup_{n}gram_char_frac"] <= thr


@pytest.mark.parametrize("text", ["", "  \n\n \t"])
def test_empty_and_whitespace_are_kept_with_zero_scores(text):
    v = F(doc(text))
    assert v.keep and len(v.scores) == 4 + len(TOP) + len(DUP)
    assert all(x == 0.0 for x in v.scores.values())


def test_cjk_lines_and_paragraphs_still_count():
    line = "我们今天去公园散步，天气很好。"
    v = F(doc("\n".join([line] * 4 + ["另一行完全不同的内容。"])))
    assert v.reason == "gopher_repetition.dup_line_frac"
    assert v.value == pytest.approx(3 / 5)


def test_params_validation():
    f = create("gopher_repetition", max_top_ngram_char_frac={2: 0.5})
    assert f.max_top_ngram_char_frac == {2: 0.5, 3: 0.18, 4: 0.16}
    with pytest.raises(ValueError, match="n-gram sizes"):
        create("gopher_repetition", max_dup_ngram_char_frac={11: 0.1})
