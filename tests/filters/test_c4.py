"""c4: the line cleaner's rewrite and bookkeeping, and every page reason with its near miss."""

from __future__ import annotations

import pytest
from heuristics_util import doc

from gristmill.filters import create

F = create("c4")
GOOD = [
    "The cat sat on the mat today.",
    "It was a warm and sunny day!",
    "Did the dog come home again?",
]


def test_line_cleaning_rewrites_text_and_records_removals():
    lines = [
        "Short line.",  # 2 words
        "No end mark here at all",
        "This line ends with an ellipsis...",
        GOOD[0],
        "Please enable JavaScript to view this site.",
        "Read our Privacy Policy for more details.",
        "   " + GOOD[1] + "   ",  # stripped
        "A line with a citation marker [12] and [edit] in it.",
        'She said "we are leaving now."',
        GOOD[2],
    ]
    text = "\n".join(lines)
    v = F(doc(text))
    assert v.keep
    kept = [
        GOOD[0],
        GOOD[1],
        "A line with a citation marker  and  in it.",
        'She said "we are leaving now."',
        GOOD[2],
    ]
    assert v.text == "\n".join(kept)
    assert v.info["c4.lines_removed"] == "5"
    assert v.info["c4.chars_removed"] == str(len(text) - len(v.text))
    assert v.info["c4.lines_removed.too_few_words"] == "1"
    assert v.info["c4.lines_removed.no_terminal_punct"] == "2"
    assert v.info["c4.lines_removed.javascript"] == "1"
    assert v.info["c4.lines_removed.policy"] == "1"
    assert v.scores["c4.lines_removed_frac"] == pytest.approx(5 / 10)
    assert v.scores["c4.chars_removed_frac"] == pytest.approx((len(text) - len(v.text)) / len(text))
    assert v.scores["c4.sentences"] == 5


def test_unchanged_text_is_not_rewritten():
    v = F(doc("\n".join(GOOD)))
    assert v.keep and v.text is None and v.info["c4.lines_removed"] == "0"


def test_too_long_word_removes_the_line_not_the_page():
    # a word is whitespace-delimited, so the final '.' belongs to it: 1001 vs 1000 characters
    long_line = "a " * 4 + "x" * 1000 + "."
    ok_line = "a " * 4 + "x" * 999 + "."
    v = F(doc("\n".join([*GOOD, long_line, ok_line])))
    assert v.keep and v.text == "\n".join([*GOOD, ok_line])
    assert v.info["c4.lines_removed.too_long_word"] == "1"


def test_too_few_sentences():
    two = "One two three four five. Six seven eight nine ten."
    v = F(doc(two))
    assert v.reason == "c4.too_few_sentences" and (v.value, v.threshold) == (2, 3)
    three = two + " Eleven twelve!"
    assert F(doc(three)).keep


def test_lorem_ipsum_drops_the_page_only_on_a_surviving_line():
    v = F(doc("\n".join([*GOOD, "Lorem ipsum dolor sit amet, consectetur."])))
    assert v.reason == "c4.lorem_ipsum" and v.value == 4  # the 4th line
    assert v.scores["c4.sentences"] == 3  # scores still cover every line
    # near miss: the same words on a line without an end mark are just removed
    v = F(doc("\n".join([*GOOD, "Lorem ipsum dolor sit amet"])))
    assert v.keep and v.text == "\n".join(GOOD)


def test_curly_bracket_drops_the_page_only_on_a_surviving_line():
    v = F(doc("\n".join(["function body { return x; } is here.", *GOOD])))
    assert v.reason == "c4.curly_bracket" and v.value == 1
    v = F(doc("\n".join(["if (x) { y }", *GOOD])))
    assert v.keep and v.text == "\n".join(GOOD)


def test_params():
    f = create("c4", min_words_per_line=3, min_sentences=5)
    assert f(doc("\n".join(GOOD))).reason == "c4.too_few_sentences"
    with pytest.raises(ValueError):
        create("c4", max_word_length=0)


@pytest.mark.parametrize("text", ["", " \n \n"])
def test_empty_and_whitespace(text):
    v = F(doc(text))
    assert v.reason == "c4.too_few_sentences" and v.value == 0


def test_cjk_lines_lack_c4_end_marks():
    # The reference's end marks are . ? ! " only: Chinese full stops do not count, so an
    # all-Chinese page loses every line (documented; leave c4 out for such languages).
    text = "我们今天去公园散步，天气很好。\n他说：“明天见。”\n这是第三句话。"
    v = F(doc(text))
    assert v.reason == "c4.too_few_sentences"
    assert v.info["c4.lines_removed.no_terminal_punct"] == "3"
