"""A few sampled rejected documents per reason, the part that explains the rejection marked
(page only; ``gristmill inspect`` shows samples in the terminal). Duplicates are shown by
the duplicates section, beside the document kept in their place."""

from __future__ import annotations

from rich.console import RenderableType

from gristmill.report import whatif
from gristmill.report.html_blocks import doc_block, esc
from gristmill.report.sections.base import Section
from gristmill.report.stats import RunStats


def terminal(st: RunStats) -> list[RenderableType]:
    return []


def html(st: RunStats) -> str:
    """Reasons in pipeline order; highlights from the run's filters' own declarations."""
    filters = whatif.declared_filters(st.run.filter_specs)
    parts = []
    for reason in [rs.reason for info in st.by_filter().values() for rs in info["reasons"]]:
        rows = st.samples.get(reason) or []
        if not rows or rows[0].get("duplicate_of"):
            continue
        parts.append(f'<h3 class="reason">{esc(reason)} ({st.by_reason[reason].docs:,} docs)</h3>')
        parts += [doc_block(r, None, filters) for r in rows]
    return "".join(parts)


SECTION = Section("samples", "Rejected samples", terminal, html)
