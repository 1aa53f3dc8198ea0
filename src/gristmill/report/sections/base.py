"""What a report section is: one part of the report, drawn in both forms from the stats."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.console import RenderableType

from gristmill.report.stats import RunStats


@dataclass(frozen=True)
class Section:
    """One part of the report, drawn from the computed ``RunStats`` for both outputs.

    ``terminal`` returns rich renderables for the terminal report (an empty list when the
    section has nothing to show there, or no terminal part at all). ``html`` returns the
    section's body on the HTML page. ``title`` is the section's heading and its entry in the
    page's nav; a section without a title is a subsection: its body goes inside the section
    above it on the page. ``key`` is the section's ``id`` on the page (its nav anchor).
    ``shown`` says whether the run has anything for the section at all (the web section, for
    a run of JSONL text, has not): if not, neither output has it, heading and nav entry included.
    """

    key: str
    title: str | None
    terminal: Callable[[RunStats], list[RenderableType]]
    html: Callable[[RunStats], str]
    shown: Callable[[RunStats], bool] = lambda st: True
