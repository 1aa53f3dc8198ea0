"""Main-text extraction from HTML: the extractors behind the ``extract`` stage.

``make_extractor(name, **options)`` builds one by its config name:

- ``trafilatura``: trafilatura 2.x (``trafilatura_extractor``);
- ``resiliparse``: Resiliparse's main-content plain text (``resiliparse_extractor``);
- ``visible``: all visible text, gristmill's converter when no ``extract`` section is set.

The libraries are imported when an extractor is built, not when this package is imported.
``benchmarks/extraction.py`` compares them on real pages (``data.web_pages``).
"""

from __future__ import annotations

from typing import Any

from gristmill.extract.base import Extractor
from gristmill.extract.resiliparse_extractor import ResiliparseExtractor
from gristmill.extract.trafilatura_extractor import TrafilaturaExtractor
from gristmill.extract.visible import VisibleText

EXTRACTORS: dict[str, type[Extractor]] = {
    cls.name: cls for cls in (TrafilaturaExtractor, ResiliparseExtractor, VisibleText)
}
DEFAULT_EXTRACTOR = "trafilatura"


def make_extractor(name: str = DEFAULT_EXTRACTOR, **options: Any) -> Extractor:
    """The extractor ``name`` with ``options`` (its ``OPTIONS`` names; others are a ValueError)."""
    if name not in EXTRACTORS:
        raise ValueError(f"unknown extractor {name!r}; extractors: {', '.join(EXTRACTORS)}")
    return EXTRACTORS[name](**options)


__all__ = ["DEFAULT_EXTRACTOR", "EXTRACTORS", "Extractor", "make_extractor"]
