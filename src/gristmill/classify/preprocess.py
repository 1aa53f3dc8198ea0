"""The one text transformation used both to train a classifier and to apply it.

A model only sees features it saw in training, so training and inference must turn text into
tokens in exactly the same way; keeping a single function makes a mismatch impossible.
fastText's ``predict`` also refuses text containing newlines, and splits on whitespace only,
so we lowercase, split words from punctuation, and join everything with single spaces.
"""

from __future__ import annotations

import re
import unicodedata

# A word (letters/digits/underscore, with inner apostrophes: "don't", "o'clock"), or any
# single other non-space character (punctuation, symbols, emoji), each its own token.
_TOKEN = re.compile(r"\w+(?:['\u2019]\w+)*|[^\w\s]")


def preprocess(text: str) -> str:
    """Lowercased, NFKC-normalised tokens joined by single spaces; never contains a newline.

    NFKC folds compatibility forms (full-width letters, ligatures) so they share features with
    their plain forms. The result of an empty or all-whitespace text is ``""``.
    """
    text = unicodedata.normalize("NFKC", text).lower()
    return " ".join(_TOKEN.findall(text))


def single_line(text: str) -> str:
    """Whitespace (newlines included) collapsed to single spaces, case kept.

    For models trained elsewhere with their own preprocessing (for example fastText's
    ``lid.176`` or Dolma/DataTrove quality models), which only need the text on one line.
    """
    return " ".join(text.split())


PREPROCESSORS = {"gristmill": preprocess, "single_line": single_line}
"""Named preprocessing for the ``fasttext`` filter's ``preprocess`` parameter."""
