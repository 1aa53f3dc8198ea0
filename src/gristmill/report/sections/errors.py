"""Input records that failed to parse, by error type, with examples (file:line: message)."""

from __future__ import annotations

from rich.console import RenderableType
from rich.table import Table

from gristmill.report.html_blocks import table
from gristmill.report.sections.base import Section
from gristmill.report.stats import RunStats
from gristmill.report.terminal_blocks import add_row


def terminal(st: RunStats) -> list[RenderableType]:
    """The first example of each type, cut to fit 80 columns."""
    if not st.errors_by_type:
        return []
    t = Table(title="Errors by type", title_justify="left", title_style="bold",
              pad_edge=False, show_edge=False)
    t.add_column("type", no_wrap=True)
    t.add_column("count", justify="right", no_wrap=True)
    t.add_column("first example", no_wrap=True, overflow="ellipsis", max_width=48)
    for et, n in st.errors_by_type.most_common():
        ex = st.error_examples[et][0] if st.error_examples[et] else ""
        add_row(t, et, f"{n:,}", ex)
    return [t]


def html(st: RunStats) -> str:
    if not st.errors_by_type:
        return "<p>No input records failed to parse.</p>"
    return table(["type", "count", "examples"],
                 [[t, n, " | ".join(st.error_examples[t])] for t, n in st.errors_by_type.most_common()])


SECTION = Section("errors", "Errors", terminal, html)
