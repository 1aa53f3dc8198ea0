"""Builders of small synthetic documents for the heuristic filter tests."""

from __future__ import annotations

import itertools
import string

from gristmill.schemas import Document


def doc(text: str, id: str = "t") -> Document:
    return Document(id=id, text=text)


def unique_words(prefix: str = "") -> itertools.Iterator[str]:
    """Endless distinct three-letter lower-case words (never 'the', 'and', ...: all start
    with a letter from q..z, none of which starts a stop word)."""
    for a, b, c in itertools.product("qrsuvxyz", string.ascii_lowercase, string.ascii_lowercase):
        yield prefix + a + b + c


def pad_to(parts: list[str], total: int, words: itertools.Iterator[str]) -> str:
    """Join ``parts`` with spaces and append distinct filler words until ``len >= total``."""
    out = list(parts)
    text = " ".join(out)
    while len(text) < total:
        out.append(next(words))
        text = " ".join(out)
    return text
