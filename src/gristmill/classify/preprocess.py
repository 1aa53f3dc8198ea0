"""The one text transformation used both to train a classifier and to apply it.

A model only sees features it saw in training, so training and inference must turn text into
tokens in exactly the same way; keeping a single function makes a mismatch impossible.
fastText's ``predict`` also refuses text containing newlines, and splits on whitespace only,
so we lowercase, split words from punctuation, and join everything with single spaces.

The token rule is the regular expression ``_TOKEN`` (``reference_preprocess``). Applying it
costs ~40 ns per character, as much as fastText's own prediction, so ``preprocess`` takes a
fast path for ASCII text (after NFKC and lowercasing) that gives exactly the same string from
C-speed string operations; other text goes through the regular expression. Tests check the
two agree on the whole demo corpus and on every ASCII character in every position.
"""

from __future__ import annotations

import re
import unicodedata

# A word (letters/digits/underscore, with inner apostrophes: "don't", "o'clock"), or any
# single other non-space character (punctuation, symbols, emoji), each its own token.
_TOKEN = re.compile(r"\w+(?:['\u2019]\w+)*|[^\w\s]")

# ASCII fast path. Every ASCII character that is neither a word character nor whitespace is
# a token of its own, so putting spaces around it and splitting on whitespace gives the
# regex's tokens; the apostrophe is the one exception (it stays inside a word when there is
# a word character on both sides).
_WORD_OR_SPACE = bytes(b for b in range(128) if chr(b).isalnum() or chr(b) == "_" or chr(b).isspace())
_SPACED = {b: f" {chr(b)} " for b in range(128) if bytes([b]) not in _WORD_OR_SPACE}
_APOSTROPHE = ord("'")
# An apostrophe with no word character before it, or none after it.
_LONE_APOSTROPHE = re.compile(r"'(?:(?<!\w')|(?!\w))")


def reference_preprocess(text: str) -> str:
    """The token rule written as a regular expression: the specification ``preprocess``
    must match, and the path it takes for non-ASCII text."""
    return " ".join(_TOKEN.findall(unicodedata.normalize("NFKC", text).lower()))


def preprocess(text: str) -> str:
    """Lowercased, NFKC-normalised tokens joined by single spaces; never contains a newline.

    NFKC folds compatibility forms (full-width letters, ligatures) so they share features with
    their plain forms. The result of an empty or all-whitespace text is ``""``. Equal to
    ``reference_preprocess(text)``, about 2x faster on ASCII text (1.9x on a fortune, 2.3x
    on a 7 KB scene).
    """
    text = unicodedata.normalize("NFKC", text).lower()
    if not text.isascii():
        return " ".join(_TOKEN.findall(text))
    # The distinct punctuation/control characters present: deleting word characters and
    # whitespace from the bytes leaves only them (one C pass), then one replace per kind.
    for b in set(text.encode("ascii").translate(None, _WORD_OR_SPACE)):
        if b == _APOSTROPHE:
            text = _LONE_APOSTROPHE.sub(" ' ", text)
        else:
            text = text.replace(chr(b), _SPACED[b])
    return " ".join(text.split())


def single_line(text: str) -> str:
    """Whitespace (newlines included) collapsed to single spaces, case kept.

    For models trained elsewhere with their own preprocessing (for example fastText's
    ``lid.176`` or Dolma/DataTrove quality models), which only need the text on one line.
    """
    return " ".join(text.split())


def window(text: str, max_chars: int | None) -> str:
    """The first ``max_chars`` characters of ``text``, cut back to the last whitespace so no
    word is split (a hard cut when the window holds no whitespace); ``text`` itself when it
    fits or ``max_chars`` is None.

    Why a prefix: a classifier's cost grows with the text, while its decision on a long
    document rarely changes after the first few thousand characters (docs/classifiers.md
    measures how often it does on the demo corpus).
    """
    if max_chars is None or len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    if not text[max_chars].isspace():
        head = cut.rsplit(None, 1)  # [words before the last whitespace, the cut word]
        if len(head) == 2:
            cut = head[0]
    return cut


PREPROCESSORS = {"gristmill": preprocess, "single_line": single_line}
"""Named preprocessing for the ``fasttext`` filter's ``preprocess`` parameter."""
