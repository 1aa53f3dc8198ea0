"""What the run cost: wall time, peak memory of its processes, bytes written to scratch files.

From ``summary.json`` (``peak_rss_bytes``, ``spill_bytes``, ``timings``); a run written before
gristmill recorded memory has no such keys, and the section says so instead of guessing.
"""

from __future__ import annotations

from rich.console import RenderableType

from gristmill.report.html_blocks import esc, table
from gristmill.report.sections.base import Section
from gristmill.report.stats import RunStats
from gristmill.report.terminal_blocks import add_row
from gristmill.report.terminal_blocks import table as terminal_table


def _gb(n: int) -> str:
    return f"{n / 1e9:.2f} GB"


def rows(summary: dict) -> list[tuple[str, str, str]]:
    """(what, value, how it was measured) for each figure the summary has."""
    out = []
    total = (summary.get("timings") or {}).get("total_s")
    if total is not None:
        out.append(("wall time", f"{total:,.1f} s", f"{summary.get('workers', 1)} worker(s)"))
    if summary.get("peak_rss_bytes") is not None:
        out.append(("peak memory (RSS)", _gb(summary["peak_rss_bytes"]),
                    summary.get("peak_rss_method", "")))
    if summary.get("spill_bytes") is not None:
        out.append(("scratch written", _gb(summary["spill_bytes"]),
                    "spill files, sorted runs"))
    return out


def terminal(st: RunStats) -> list[RenderableType]:
    r = rows(st.run.summary)
    if not r:
        return []
    t = terminal_table("Resources", "measure", "value", "how", right_from=1)
    for what, value, how in r:
        add_row(t, what, value, how)
    return [t]


def html(st: RunStats) -> str:
    r = rows(st.run.summary)
    if not any(what != "wall time" for what, _, _ in r):
        return "<p>This run's summary records no memory figures (written before gristmill measured them).</p>" + (
            table(["measure", "value", "how"], [list(x) for x in r]) if r else "")
    return table(["measure", "value", "how"], [list(x) for x in r]) + (
        f"<p>{esc('Peak memory: the runner process and its workers together.')}</p>")


SECTION = Section("resources", "Resources", terminal, html)
