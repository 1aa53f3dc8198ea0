"""Highlight finders on real demo text."""

from __future__ import annotations

import json
import re

from gristmill.report import highlight


def _lit(demo_dir, n=3):
    with open(demo_dir / "corpus" / "literature.jsonl", encoding="utf-8") as f:
        return [json.loads(next(f))["text"] for _ in range(n)]


def test_repeated_lines_marks_the_copies_the_filter_counts(demo_dir):
    """gopher_repetition counts each later copy of a line (the first is the original)."""
    text = _lit(demo_dir, 1)[0]
    first = next(ln for ln in text.split("\n") if ln.strip())
    doubled = text + "\n" + first
    spans, label = highlight.spans_for("gopher_repetition.dup_line_frac", doubled)
    assert label == "repeated lines"
    assert [doubled[a:b] for a, b in spans].count(first) == 1 and spans[-1][1] == len(doubled)


def test_top_ngram_and_special_characters(demo_dir):
    text = _lit(demo_dir, 1)[0][:400] + " the quick fox jumps and the quick fox jumps and the quick fox"
    spans, label = highlight.spans_for("gopher_repetition.top_3gram_char_frac", text)
    assert label == "most repeated 3-gram"
    assert [text[a:b] for a, b in spans] == ["the quick fox"] * 3
    sc, label = highlight.spans_for("special_characters.too_many_special_chars", "ab $$ c!")
    assert sc == [(3, 5), (7, 8)] and label == "special characters"


def test_differing_words_finds_a_dropped_line(demo_dir):
    text = _lit(demo_dir, 1)[0]
    lines = text.split("\n")
    i = next(k for k, ln in enumerate(lines) if len(ln.split()) >= 4 and k > 2)
    near = "\n".join(lines[:i] + lines[i + 1 :])
    spans = highlight.differing_words(text, near)
    assert len(spans) == 1
    words = re.compile(r"\w+")
    assert words.findall(text[spans[0][0] : spans[0][1]]) == words.findall(lines[i])
    assert highlight.differing_words(near, text) == []  # nothing extra in the near copy


def test_clip_keeps_the_span_visible():
    text = "x" * 5000 + "HERE" + "y" * 5000
    piece, spans, cut = highlight.clip(text, [(5000, 5004)], 1000)
    assert cut and piece.startswith("[...] ") and piece[spans[0][0] : spans[0][1]] == "HERE"


def test_c4_lines_match_the_filter_count(demo_dir):
    """The lines marked for C4 are as many as the c4 filter itself says it removes."""
    from gristmill.filters import create
    from gristmill.schemas import Document

    text = _lit(demo_dir, 1)[0]
    v = create("c4")(Document(id="x", text=text))
    spans, label = highlight.spans_for("c4.too_few_sentences", text)
    blank = sum(1 for ln in text.splitlines() if not ln.strip())
    assert spans and len(spans) + blank == int(v.info["c4.lines_removed"])
    assert label == "lines C4 removes"


def test_reason_specific_finders():
    t = "• one\n• two\nplain line here.\n# tag # tag\nwait...\n123 456 word"
    assert highlight.spans_for("gopher_quality.too_many_bullet_lines", t)[0] == [(0, 5), (6, 11)]
    spans, _ = highlight.spans_for("gopher_quality.too_many_hashes", t)
    assert [t[a:b] for a, b in spans] == ["#", "#"]
    spans, _ = highlight.spans_for("gopher_quality.too_few_alpha_words", t)
    assert [t[a:b] for a, b in spans] == ["•", "•", "#", "#", "123", "456"]
    spans, label = highlight.spans_for("gopher_repetition.dup_5gram_char_frac", "a b c d e x a b c d e")
    assert label == "repeated 5-grams" and spans == [(12, 21)]  # the copy, not the original
    assert highlight.spans_for("word_count.too_few_words", t) == ([], "")
    spans, label = highlight.spans_for("c4.curly_bracket", "a { b } {")
    assert spans == [(2, 3), (8, 9)] and label == "curly brackets"
