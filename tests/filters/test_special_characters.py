"""special_characters: what counts as special, Unicode letters with marks, the threshold."""

from __future__ import annotations

import pytest
from heuristics_util import doc

from gristmill.filters import create
from gristmill.filters.special_characters import special_chars

F = create("special_characters")


def test_hand_computed():
    assert special_chars("a+b") == 1
    assert special_chars("snake_case, x2!") == 3  # _ , !
    assert special_chars("  \t\n") == 0
    v = F(doc("a+b"))
    assert v.reason == "special_characters.too_many_special_chars"
    assert v.value == pytest.approx(1 / 3) and v.threshold == 0.25


def test_threshold_near_miss():
    assert F(doc("abc!")).keep  # exactly 0.25
    assert F(doc("abc!")).scores == {"special_characters.special_chars_frac": 0.25}
    assert not F(doc("abc!!")).keep  # 0.4


def test_unicode_letters_and_marks_are_not_special():
    assert special_chars("नमस्ते दुनिया") == 0  # Devanagari vowel signs and virama are marks
    assert special_chars("café naïve Ωμέγα") == 0
    assert special_chars("你好，世界。") == 2  # full-width comma and full stop
    assert special_chars("ok 👍🎉") == 2


@pytest.mark.parametrize("text", ["", " \n "])
def test_empty_and_whitespace(text):
    v = F(doc(text))
    assert v.keep and v.scores == {"special_characters.special_chars_frac": 0.0}


def test_params():
    assert create("special_characters", max_special_chars_frac=0.5)(doc("abc!!")).keep
    with pytest.raises(ValueError):
        create("special_characters", max_special_chars_frac=2)
