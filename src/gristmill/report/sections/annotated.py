"""What filters recorded on documents without removing them: annotate-mode verdicts
(``annotate.<filter>`` metadata) and the counts of C4's line cleaner (``c4.*`` metadata).
A subsection: on the page it sits inside "Filters and reasons"."""

from __future__ import annotations

from rich.console import RenderableType

from gristmill.report.cells import num
from gristmill.report.html_blocks import esc, table
from gristmill.report.sections.base import Section
from gristmill.report.stats import RunStats
from gristmill.report.terminal_blocks import add_row
from gristmill.report.terminal_blocks import table as terminal_table

ANNOTATE_TITLE = "Annotate-mode filters (would have removed)"


def c4_title(st: RunStats) -> str:
    """C4's cleaner records its counts on every document that reaches it; in annotate mode
    it only says what it would remove."""
    mode = next((s.get("mode", "filter") for s in st.run.filter_specs if s["name"] == "c4"), None)
    if mode == "annotate":
        return "C4 line cleaning, annotate mode: would remove (not applied)"
    return "C4 line cleaning: removed from documents that reached it"


def terminal(st: RunStats) -> list[RenderableType]:
    out: list[RenderableType] = []
    if st.annotated:
        t = terminal_table(ANNOTATE_TITLE, "reason", "docs")
        for r, n in sorted(st.annotated.items()):
            add_row(t, r, f"{n:,}")
        out.append(t)
    if st.metadata_sums:
        t = terminal_table(c4_title(st), "metadata key", "total")
        for k, v in sorted(st.metadata_sums.items()):
            add_row(t, k, num(v))
        out.append(t)
    return out


def html(st: RunStats) -> str:
    parts = []
    if st.annotated:
        parts.append(f"<h3>{esc(ANNOTATE_TITLE)}</h3>")
        parts.append(table(["reason", "docs"], [[r, n] for r, n in sorted(st.annotated.items())]))
    if st.metadata_sums:
        parts.append(f"<h3>{esc(c4_title(st))}</h3>")
        parts.append(table(["metadata key", "total"],
                           [[k, v] for k, v in sorted(st.metadata_sums.items())]))
    return "".join(parts)


SECTION = Section("annotated", None, terminal, html)
