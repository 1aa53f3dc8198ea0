"""The terminal report and ``inspect``: rich tables and panels that fit an 80-column terminal.

The report is a header followed by the sections of ``gristmill.report.sections``, each
drawn by its own module, in the terminal's order of the sections table.
"""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.text import Text

from gristmill.report import highlight, sections
from gristmill.report.cells import c4_counts, num
from gristmill.report.stats import RunStats
from gristmill.safe_text import plain, visible

WIDTH = 80


def report_renderables(st: RunStats) -> list[RenderableType]:
    out: list[RenderableType] = [_header(st)]
    for section in sections.terminal_order(st):
        out += section.terminal(st)
    return out


def _header(st: RunStats) -> Text:
    """The run's path, its config hash and the counts that sum to the input."""
    run = st.run
    head = Text()
    head.append(f"gristmill report: {visible(run.path)}\n", style="bold")
    h = run.summary.get("config_hash")
    head.append(f"config {visible(h[:12]) if h else '?'}  ")
    head.append(f"input {st.input_records:,}  kept {st.kept_docs:,}  rejected "
                f"{st.rejected_docs:,}  errors {st.errors:,}")
    if run.tokens is not None:
        head.append(f"  tokens {run.tokens:,}")
    return head


def print_report(st: RunStats, console: Console | None = None) -> None:
    con = console or Console(width=WIDTH)
    for r in report_renderables(st):
        con.print(r)
        con.print()


def styled(text: str, spans: list[tuple[int, int]], style: str = "bold black on yellow") -> Text:
    """A document's text with ``spans`` highlighted. Each piece is escaped on its own
    (:func:`visible` works per character), so the spans still cover the characters they
    named once a control character has grown into its escape."""
    t, pos = Text(), 0
    for a, b in sorted(spans):
        a = max(a, pos)  # overlapping spans: style each character once
        if b <= a:
            continue
        t.append(visible(text[pos:a], multiline=True))
        t.append(visible(text[a:b], multiline=True), style)
        pos = b
    t.append(visible(text[pos:], multiline=True))
    return t


def inspect_renderables(rows: list[dict], reps: dict[str, dict], limit_chars: int = 1200,
                        filters: list | None = None) -> list:
    """One panel per sampled rejected document: reason, value vs threshold, the text with its
    offending part highlighted, and for duplicates the matched document."""
    out: list = []
    for row in rows:
        rep = reps.get(row.get("duplicate_of") or "")
        rep_text = rep["text"] if rep else None
        spans, label = highlight.spans_for(row["reason"], row["text"], rep_text, filters)
        piece, shifted, cut = highlight.clip(row["text"], spans, limit_chars)
        head = Text()
        head.append(visible(row["reason"]), style="bold red")
        if row.get("value") is not None:
            head.append(f"  value {num(row['value'])}")
        if row.get("threshold") is not None:
            head.append(f"  threshold {num(row['threshold'])}")
        head.append(f"  {len(row['text']):,} chars  source {visible(row.get('source')) or '-'}")
        parts: list = [head]
        if label:
            parts.append(Text(f"highlighted: {label} ({len(spans)} spans)", style="italic"))
        parts.append(styled(piece + (" [...]" if cut else ""), shifted))
        c4 = c4_counts(row)
        if c4:
            parts.append(plain(c4, style="italic"))
        if row.get("duplicate_of"):
            parts.append(plain(f"duplicate of {row['duplicate_of']}"
                               + (f" ({rep['fate']})" if rep else " (not found in this run)"),
                               style="bold"))
            if rep:
                rep_spans = highlight.differing_words(rep["text"], row["text"])
                rp, rs, rcut = highlight.clip(rep["text"], rep_spans, limit_chars)
                parts.append(styled(rp + (" [...]" if rcut else ""), rs, "bold black on cyan"))
        # a str title would be parsed as console markup whatever the console says
        out.append(Panel(Group(*parts), title=plain(row["id"]), title_align="left", width=WIDTH))
    return out
