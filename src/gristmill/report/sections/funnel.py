"""The funnel: documents and characters left after each step, input records to kept."""

from __future__ import annotations

from rich.console import RenderableType

from gristmill.report import plots
from gristmill.report.cells import pct
from gristmill.report.html_blocks import pct_cell, table
from gristmill.report.sections.base import Section
from gristmill.report.stats import RunStats
from gristmill.report.terminal_blocks import add_row
from gristmill.report.terminal_blocks import table as terminal_table


def terminal(st: RunStats) -> list[RenderableType]:
    t = terminal_table("Funnel", "step", "documents", "% input", "characters")
    for step in st.funnel():
        add_row(t, step.label, f"{step.documents:,}", pct(step.documents, st.input_records),
                f"{step.chars:,}")
    if st.run.tokens is not None:
        add_row(t, "tokens (shards)", f"{st.run.tokens:,}", "", "")
    return [t]


def html(st: RunStats) -> str:
    rows = [[step.label, step.documents, pct_cell(step.documents, st.input_records), step.chars,
             pct_cell(step.chars, st.input_chars)] for step in st.funnel()]
    if st.run.tokens is not None:
        rows.append(["tokens (shards)", st.run.tokens, ("", 0), "", ("", 0)])
    return (f'<img alt="funnel chart" src="{plots.funnel_figure(st)}">'
            + table(["step", "documents", "% input", "characters", "% chars"], rows, "funnel"))


SECTION = Section("funnel", "Funnel", terminal, html)
