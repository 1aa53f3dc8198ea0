"""What each filter and dedup stage removed, by reason: documents, characters, thresholds."""

from __future__ import annotations

from rich.console import RenderableType

from gristmill.report.cells import pct
from gristmill.report.html_blocks import pct_cell, table
from gristmill.report.sections.base import Section
from gristmill.report.stats import RunStats
from gristmill.report.terminal_blocks import add_row
from gristmill.report.terminal_blocks import table as terminal_table
from gristmill.safe_text import plain


def terminal(st: RunStats) -> list[RenderableType]:
    """One bold row per filter (its stage in brackets), one indented row per reason."""
    t = terminal_table("Removed, by filter and reason", "reason", "docs", "% docs", "chars",
                       "% chars")
    for f, info in st.by_filter().items():
        add_row(t, plain(f"{f} ({info['stage']})", style="bold"), f"{info['docs']:,}",
                pct(info["docs"], st.input_records), f"{info['chars']:,}",
                pct(info["chars"], st.input_chars))
        for rs in info["reasons"]:
            add_row(t, "  " + rs.reason.split(".", 1)[-1], f"{rs.docs:,}",
                    pct(rs.docs, st.input_records), f"{rs.chars:,}", pct(rs.chars, st.input_chars))
    return [t]


def html(st: RunStats) -> str:
    """One row per reason, with the filter's mode, the share of the documents that reached
    the filter, and the thresholds the rejections recorded."""
    modes = {s["name"]: s.get("mode", "filter") for s in st.run.filter_specs}
    rows, reaching = [], st.input_records - st.errors
    for f, info in st.by_filter().items():
        for rs in info["reasons"]:
            thr = ", ".join(f"{t:g}" for t in sorted(rs.thresholds)) if rs.thresholds else "-"
            rows.append([f, info["stage"], modes.get(f, "filter"), rs.reason, rs.docs,
                         pct_cell(rs.docs, st.input_records), pct_cell(rs.docs, reaching),
                         rs.chars, pct_cell(rs.chars, st.input_chars), thr])
        reaching -= info["docs"]
    return table(["filter", "stage", "mode", "reason", "docs", "% input", "% reached filter",
                  "chars", "% input chars", "threshold"], rows)


SECTION = Section("filters", "Filters and reasons", terminal, html)
