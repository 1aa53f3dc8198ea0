"""What a word, a line, a paragraph and a sentence are: defined once, shared by all filters.

- line: the text split on ``\\n`` (the normalizer has already turned ``\\r\\n``/``\\r`` into
  ``\\n``); empty lines are kept by ``lines()`` and dropped by ``nonempty_lines()``.
- paragraph: runs of text separated by one or more blank lines (``\\n\\s*\\n``).
- word: a maximal run of non-whitespace characters (Unicode whitespace, ``str.split()``).
  Text without spaces (Chinese, Japanese, Thai) is therefore one "word" per run, so word-count
  rules see very few, very long words: such documents are rejected by word-count and
  word-length rules unless those filters are left out for those languages. This is the
  documented, tested behaviour; see docs/filters.md.
- sentence: a run ending in ``.``, ``!``, ``?`` (or their full-width forms) followed by
  whitespace or the end of the text.
"""

from __future__ import annotations

import re

_PARA_SPLIT = re.compile(r"\n[^\S\n]*\n\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?\u3002\uff01\uff1f])\s+")


def words(text: str) -> list[str]:
    return text.split()


def lines(text: str) -> list[str]:
    return text.split("\n")


def nonempty_lines(text: str) -> list[str]:
    return [ln for ln in text.split("\n") if ln.strip()]


def paragraphs(text: str) -> list[str]:
    return [p for p in _PARA_SPLIT.split(text.strip()) if p.strip()]


def sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text.strip()) if s.strip()]
