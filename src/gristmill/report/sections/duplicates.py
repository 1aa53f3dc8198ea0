"""What each dedup stage removed: clusters (a representative and its removed copies), their
sizes and similarity; on the page, the largest clusters and sampled pairs side by side."""

from __future__ import annotations

import numpy as np
from rich.console import RenderableType

from gristmill.report.html_blocks import duplicate_pair, esc, table
from gristmill.report.sections.base import Section
from gristmill.report.stats import RunStats
from gristmill.report.terminal_blocks import add_row
from gristmill.report.terminal_blocks import table as terminal_table

LARGEST = 10  # clusters listed per stage on the page


def dedup_rows(st: RunStats) -> list[dict]:
    """Per dedup stage: documents removed, clusters (a representative and its duplicates),
    cluster sizes counting the representative, and the mean similarity of removed docs."""
    rows = []
    for f in st.filter_order():
        sizes = [n + 1 for (ff, _), n in st.clusters.items() if ff == f]
        if not sizes:
            continue
        sims = np.concatenate(st.dup_similarity.get(f) or [np.array([])])
        sims = sims[~np.isnan(sims)]
        rows.append({
            "filter": f,
            "removed": sum(sizes) - len(sizes),
            "clusters": len(sizes),
            "mean_size": sum(sizes) / len(sizes),
            "max_size": max(sizes),
            "mean_sim": f"{sims.mean():.3f}" if len(sims) else "-",
            "largest": sorted(((n + 1, rep) for (ff, rep), n in st.clusters.items() if ff == f),
                              key=lambda x: (-x[0], x[1]))[:LARGEST],
        })
    return rows


def terminal(st: RunStats) -> list[RenderableType]:
    dd = dedup_rows(st)
    if not dd:
        return []
    t = terminal_table("Duplicates", "stage", "removed", "clusters", "mean size", "max size",
                       "mean sim")
    for row in dd:
        add_row(t, row["filter"], f"{row['removed']:,}", f"{row['clusters']:,}",
                f"{row['mean_size']:.2f}", f"{row['max_size']:,}", row["mean_sim"])
    return [t]


def html(st: RunStats) -> str:
    dd = dedup_rows(st)
    if not dd:
        return "<p>No duplicates were removed in this run.</p>"
    parts = [
        table(["stage", "removed", "clusters", "mean size", "max size", "mean sim"],
              [[d["filter"], d["removed"], d["clusters"], (f"{d['mean_size']:.2f}", d["mean_size"]),
                d["max_size"], d["mean_sim"]] for d in dd]),
        "<h3>Largest clusters</h3>",
        table(["stage", "representative", "size"],
              [[d["filter"], rep, n] for d in dd for n, rep in d["largest"]]),
    ]
    for reason in sorted(st.samples):
        dups = [r for r in st.samples[reason] if r.get("duplicate_of")]
        if dups:
            parts.append(f'<h3 class="reason">{esc(reason)}: removed (left) and the '
                         "document kept in its place (right)</h3>")
            parts += [duplicate_pair(r, st.representatives.get(r["duplicate_of"])) for r in dups]
    return "".join(parts)


SECTION = Section("dedup", "Duplicates", terminal, html)
