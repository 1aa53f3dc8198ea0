"""Extraction quality: token precision, recall and F1 of an extracted text against the gold
main text of a page (``data.web_pages``).

Tokens are lower-cased runs of word characters (``\\w+``, Unicode-aware), counted as bags:
a token the extractor repeats more often than the gold has counts against precision, one it
drops against recall. Order is ignored, as in trafilatura's and ChatNoir's evaluations of
boilerplate removal, so the numbers measure what text is kept, not how it is laid out.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

_TOKEN = re.compile(r"\w+")


def tokens(text: str) -> Counter:
    return Counter(_TOKEN.findall(text.lower()))


@dataclass(frozen=True)
class TokenScores:
    precision: float
    recall: float
    f1: float


def token_scores(extracted: str, gold: str) -> TokenScores:
    """Bag-of-tokens precision/recall/F1; an empty extraction of a non-empty gold scores 0 recall
    and (vacuously) precision 1, so it is the F1 that says it failed."""
    got, want = tokens(extracted), tokens(gold)
    overlap = sum((got & want).values())
    n_got, n_want = sum(got.values()), sum(want.values())
    p = overlap / n_got if n_got else 1.0
    r = overlap / n_want if n_want else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return TokenScores(p, r, f1)
