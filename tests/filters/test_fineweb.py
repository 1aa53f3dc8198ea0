"""fineweb_quality: hand-computed scores, inclusive thresholds, every reason and near miss."""

from __future__ import annotations

import pytest
from heuristics_util import doc, unique_words

from gristmill.filters import create

F = create("fineweb_quality")


def _lines(n: int, punct: int, short: int = 0) -> str:
    """n distinct lines; the first ``punct`` end with '.', the first ``short`` are short."""
    w = unique_words()
    out = []
    for i in range(n):
        words = 2 if i < short else 9  # 2 words: 7 chars; 9 words: 35 chars
        line = " ".join(next(w) for _ in range(words))
        out.append(line + ("." if i < punct else ""))
    return "\n".join(out)


def test_scores_hand_computed():
    text = 'First line here is long enough, ends well.\nshort one\n\nThe quote ends."\nshort one'
    s = F(doc(text)).scores
    # 4 non-empty lines; 2 end in punctuation (a closing quote after '.' counts)
    assert s["fineweb_quality.punct_lines_frac"] == pytest.approx(2 / 4)
    # "short one" twice and 'The quote ends."' (16) are under 30 characters
    assert s["fineweb_quality.short_lines_frac"] == pytest.approx(3 / 4)
    # the second "short one" (9 chars) over the 76 non-newline characters
    assert s["fineweb_quality.dup_line_char_frac"] == pytest.approx(9 / (len(text) - 4))


def test_punct_lines_threshold_is_inclusive():
    v = F(doc(_lines(25, 3)))  # 3/25 = 0.12: dropped (<= 0.12, the paper's rule)
    assert v.reason == "fineweb_quality.too_few_punct_lines" and v.value == pytest.approx(0.12)
    v = F(doc(_lines(25, 4)))  # 0.16
    assert v.keep


def test_short_lines_threshold_is_inclusive():
    v = F(doc(_lines(100, 100, short=67)))
    assert v.reason == "fineweb_quality.too_many_short_lines" and v.value == pytest.approx(0.67)
    v = F(doc(_lines(100, 100, short=66)))
    assert v.keep and v.scores["fineweb_quality.short_lines_frac"] == pytest.approx(0.66)


def test_dup_line_chars_threshold_is_inclusive():
    base = _lines(9, 9).split("\n")  # 9 lines of 36 characters (with the '.')
    # one repeat of a 36-char line over 10 * 36 = 360 characters: exactly 0.1 -> dropped
    v = F(doc("\n".join([*base, base[0]])))
    assert v.reason == "fineweb_quality.too_many_dup_line_chars"
    assert v.value == pytest.approx(0.1)
    near = "\n".join([*base, base[0], _lines(1, 1).replace("qaa", "zzz")])
    v = F(doc(near))  # 36 / 396 = 0.0909
    assert v.keep and v.scores["fineweb_quality.dup_line_char_frac"] == pytest.approx(36 / 396)


@pytest.mark.parametrize("text", ["", "   \n\t\n "])
def test_empty(text):
    v = F(doc(text))
    assert v.reason == "fineweb_quality.empty"
    assert all(x == 0.0 for x in v.scores.values()) and len(v.scores) == 3


def test_one_line_is_not_empty():
    v = F(doc("  \n" + "A single line that is long enough to count here." + "\n "))
    assert v.keep and v.scores["fineweb_quality.punct_lines_frac"] == 1.0


def test_cjk_full_stops_count_as_punctuation():
    text = "我们今天去公园散步，天气很好，阳光明媚，大家都很开心。\n他说明天还要再来这里玩一整天呢！"
    s = F(doc(text)).scores
    assert s["fineweb_quality.punct_lines_frac"] == 1.0
    # CJK lines are short in characters though long in content: both are under 30
    assert s["fineweb_quality.short_lines_frac"] == 1.0
