"""Per source: documents in, kept and rejected, and which filter removed the most."""

from __future__ import annotations

from rich.console import RenderableType

from gristmill.report.cells import pct
from gristmill.report.html_blocks import pct_cell, table
from gristmill.report.sections.base import Section
from gristmill.report.stats import RunStats
from gristmill.report.terminal_blocks import add_row
from gristmill.report.terminal_blocks import table as terminal_table


def terminal(st: RunStats) -> list[RenderableType]:
    """The filter that removed most of each source's documents (80 columns: one column)."""
    t = terminal_table("By source", "source", "input", "kept", "% kept", "rejected", "top filter")
    for s, row in st.by_source.items():
        top = row["by_filter"].most_common(1)
        add_row(t, s or "(none)", f"{row['input']:,}", f"{row['kept']:,}",
                pct(row["kept"], row["input"]), f"{row['rejected']:,}",
                f"{top[0][0]} {top[0][1]:,}" if top else "")
    return [t]


def html(st: RunStats) -> str:
    """Characters too, and one column per filter."""
    filters = list(st.by_filter())
    rows = []
    for s, row in st.by_source.items():
        rows.append([s or "(none)", row["input"], row["kept"], pct_cell(row["kept"], row["input"]),
                     row["rejected"], row["input_chars"], row["kept_chars"],
                     pct_cell(row["kept_chars"], row["input_chars"])]
                    + [row["by_filter"].get(f, 0) for f in filters])
    return table(["source", "input", "kept", "% kept", "rejected", "chars in", "chars kept",
                  "% chars kept"] + [f"by {f}" for f in filters], rows)


SECTION = Section("sources", "Sources", terminal, html)
