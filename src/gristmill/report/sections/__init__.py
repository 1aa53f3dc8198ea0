"""The report's sections, one module each, in one ordered table.

Each section module defines ``SECTION`` (a :class:`Section`): what it draws in the
terminal report and on the HTML page, both from the same computed ``RunStats``. The
terminal report (``gristmill.report.terminal``) and the page (``gristmill.report.html``)
only add a header and lay the sections out in the order of ``SECTIONS``. A new section is a
module here plus one row in ``SECTIONS``; ``register`` (or ``registered``, around a block)
adds one of your own after the built-in ones.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from gristmill.report.sections import (
    annotated,
    duplicates,
    errors,
    funnel,
    reasons,
    rejected_samples,
    resources,
    scores,
    sources,
    web,
)
from gristmill.report.sections.base import Section
from gristmill.report.stats import RunStats

__all__ = ["SECTIONS", "Section", "page_order", "register", "registered", "terminal_order",
           "unregister"]

# One row per section: (section, its place in the terminal report). The rows' order is the
# HTML page's order (and its nav's); the terminal report puts the short per-source and
# duplicates tables before the long score tables, hence places of its own.
SECTIONS: tuple[tuple[Section, int], ...] = (
    (funnel.SECTION, 1),
    (reasons.SECTION, 2),
    (annotated.SECTION, 3),  # annotate-mode verdicts, C4's line counts: inside "filters"
    (scores.SECTION, 6),
    (rejected_samples.SECTION, 7),  # page only
    (duplicates.SECTION, 5),
    (sources.SECTION, 4),
    (web.SECTION, 9),  # crawl records, extraction and redaction: runs of web input only
    (errors.SECTION, 8),
    (resources.SECTION, 9),
)

# Sections added with ``register`` (a user's own, or a test's), in the order added.
_REGISTERED: list[Section] = []


def page_order(st: RunStats | None = None) -> list[Section]:
    """The sections in the order of the HTML page (those ``shown`` for ``st``, if given)."""
    return [s for s in [s for s, _ in SECTIONS] + _REGISTERED if st is None or s.shown(st)]


def terminal_order(st: RunStats | None = None) -> list[Section]:
    """The sections in the order of the terminal report (those ``shown`` for ``st``, if given)."""
    order = [s for s, _ in sorted(SECTIONS, key=lambda row: row[1])] + _REGISTERED
    return [s for s in order if st is None or s.shown(st)]


def register(section: Section) -> Section:
    """Add a section after the built-in ones, on the page and in the terminal (until
    ``unregister``; ``registered`` does both around a block, as tests do)."""
    if any(s.key == section.key for s in page_order()):
        raise ValueError(f"report section {section.key!r} registered twice")
    _REGISTERED.append(section)
    return section


def unregister(key: str) -> None:
    _REGISTERED[:] = [s for s in _REGISTERED if s.key != key]


@contextlib.contextmanager
def registered(*sections: Section) -> Iterator[None]:
    """Register sections for the duration of a block only."""
    added: list[Section] = []
    try:
        for s in sections:
            added.append(register(s))
        yield
    finally:
        for s in added:
            unregister(s.key)
