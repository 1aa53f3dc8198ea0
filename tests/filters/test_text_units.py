"""The shared definitions of word, line, paragraph, sentence, and their per-document cache."""

from __future__ import annotations

from gristmill.filters.text_units import (
    CharCounts,
    analyze,
    count_sentences,
    lines,
    nonempty_lines,
    paragraphs,
    repeats,
    sentences,
    words,
)


def test_units_on_a_small_text():
    t = "One two.  Three!\n\n  \nFour five? six\n"
    assert words(t) == ["One", "two.", "Three!", "Four", "five?", "six"]
    assert lines(t) == ["One two.  Three!", "", "  ", "Four five? six", ""]
    assert nonempty_lines(t) == ["One two.  Three!", "Four five? six"]
    assert paragraphs(t) == ["One two.  Three!", "Four five? six"]
    assert sentences(t) == ["One two.", "Three!", "Four five?", "six"]
    assert count_sentences(t) == 4


def test_sentences_keep_closing_quotes_and_handle_cjk():
    assert sentences('He said "go." Then left.') == ['He said "go."', "Then left."]
    assert count_sentences('He said "go." Then left.') == 2
    # Full-width marks end a sentence only when whitespace follows: unspaced CJK text
    # is one sentence (documented).
    assert sentences("你好。 世界！") == ["你好。", "世界！"]
    assert sentences("你好。世界！") == ["你好。世界！"]
    assert sentences("") == [] and count_sentences("  ") == 0


def test_cjk_text_without_spaces_is_one_word():
    assert words("我们今天去公园散步。天气很好。") == ["我们今天去公园散步。天气很好。"]
    assert words("日本語の テキスト") == ["日本語の", "テキスト"]


def test_repeats_count_later_copies_only():
    assert repeats(["a", "bb", "a", "a", "bb", "c"]) == (3, 1 + 1 + 2)
    assert repeats([]) == (0, 0)


def test_analyze_is_shared_for_the_same_text_object():
    t = "alpha beta\ngamma"
    u = analyze(t)
    assert analyze(t) is u
    assert u.words == words(t) and u.nonempty_lines == nonempty_lines(t)
    other = "".join(["alpha beta\n", "gamma"])  # equal but a different object
    assert other == t and other is not t
    assert analyze(other) is not u and analyze(other).words == u.words


def test_char_counts_ascii_and_unicode_paths_agree():
    ascii_text = "The (cat), sat_on 42 mats!\tok"
    c = CharCounts(ascii_text, words(ascii_text))
    # alnum: The cat sat on 42 mats ok = 3+3+3+2+2+4+2 = 19; space: 4 spaces + 1 tab;
    # other: ( ) , _ !
    assert (c.alnum, c.space, c.other) == (19, 5, 5)
    assert c.alnum_words == ["the", "cat", "saton", "42", "mats", "ok"]
    assert c.alpha_words == 5  # "42" has no letter
    # The same text with one non-ASCII letter goes through the regex path.
    uni = ascii_text.replace("cat", "çat")
    cu = CharCounts(uni, words(uni))
    assert (cu.alnum, cu.space, cu.other, cu.alpha_words) == (19, 5, 5, 5)
    assert cu.alnum_words == ["the", "çat", "saton", "42", "mats", "ok"]
