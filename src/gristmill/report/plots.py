"""matplotlib figures for the HTML report, returned as base64 PNG data URIs.

PNG rather than SVG: a histogram of a million documents is still 40 bars, but SVG text of
many figures bloats the page and some fonts render differently per browser. Agg backend, no
display needed; fixed DPI and no timestamps so the same run gives the same bytes.
"""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import EngFormatter  # noqa: E402

from gristmill.report import whatif  # noqa: E402
from gristmill.report.stats import RunStats, ScoreSeries  # noqa: E402

DPI = 80
COLORS = {"kept": "#4c9f70", "rejected": "#d1495b", "other": "#9aa5b1"}
RULE_COLORS = ["#1f5fa8", "#e08a00", "#7b3fa0", "#00838f"]


def to_data_uri(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def funnel_figure(st: RunStats) -> str:
    """Documents and characters left after each step, as bars, input at the top."""
    steps = st.funnel()[::-1]
    labels = [s.label for s in steps]
    docs = np.array([s.documents for s in steps], dtype=float)
    chars_arr = np.array([s.chars for s in steps], dtype=float)
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.45 * len(steps) + 1.2), sharey=True)
    for ax, vals, total, title in (
        (axes[0], docs, max(st.input_records, 1), "documents"),
        (axes[1], chars_arr, max(st.input_chars, 1), "characters"),
    ):
        ax.barh(labels, vals, color="#1f5fa8")
        for y, v in enumerate(vals):
            ax.text(v, y, f" {100 * v / total:.1f}%", va="center", fontsize=8)
        ax.set_title(title)
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))
        ax.set_xlim(0, vals.max() * 1.18 if vals.max() > 0 else 1)
        ax.spines[["top", "right"]].set_visible(False)
    # fixed margins: tight_layout/bbox_inches="tight" each cost a full extra draw
    fig.subplots_adjust(left=0.2, right=0.97, top=0.9, bottom=0.6 / fig.get_figheight(), wspace=0.08)
    return to_data_uri(fig)


def score_figure(series: ScoreSeries, st: RunStats, rules: list[whatif.Rule],
                 curves: dict[whatif.Rule, whatif.Curve] | None = None) -> str:
    """Left: histogram of the score (kept / rejected by this filter / removed elsewhere,
    stacked) with every rule's threshold marked. Right: the rules' what-if curves."""
    ncols = 2 if rules else 1
    fig, axes = plt.subplots(1, ncols, figsize=(10 if rules else 5.5, 3.0), squeeze=False)
    ax = axes[0][0]
    thr = rules[0].threshold if rules else None
    edges, groups = whatif.histogram(series, st, thr)
    bottom = np.zeros(len(edges) - 1)
    for (name, counts), color in zip(groups.items(), COLORS.values(), strict=True):
        if counts.sum():  # stairs: one filled polygon per group, not one patch per bar
            ax.stairs(bottom + counts, edges, baseline=bottom.copy(), fill=True, color=color,
                      label=f"{name} ({int(counts.sum()):,})")
            bottom += counts
    if bottom.max() > 50 * max(np.median(bottom[bottom > 0]) if (bottom > 0).any() else 1, 1):
        ax.set_yscale("log")
    for i, rule in enumerate(rules):
        ax.axvline(rule.threshold, color=RULE_COLORS[i % 4], linestyle="--", linewidth=1.5,
                   label=f"threshold {rule.threshold:g} ({rule.side})")
    ax.set_title(series.key, fontsize=10)
    ax.set_ylabel("documents")
    ax.legend(fontsize=7, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    if rules:
        ax2 = axes[0][1]
        for i, rule in enumerate(rules):
            c = (curves or {}).get(rule) or whatif.whatif(series, rule)
            color = RULE_COLORS[i % 4]
            ax2.plot(c.thresholds, 100 * c.docs_frac, color=color, label=f"docs, {rule.side} t")
            ax2.plot(c.thresholds, 100 * c.chars_frac, color=color, linestyle=":",
                     label=f"chars, {rule.side} t")
            ax2.axvline(rule.threshold, color=color, linestyle="--", linewidth=1)
            ax2.plot([rule.threshold], [100 * c.docs_at_current / max(c.docs, 1)], "o",
                     color=color)
        ax2.set_title("what if: % removed by this rule alone vs threshold t", fontsize=10)
        ax2.set_ylabel("% removed")
        ax2.set_xlabel(series.key)
        ax2.set_ylim(-2, 102)
        ax2.set_xlim(edges[0], edges[-1])
        ax2.legend(fontsize=7, frameon=False)
        ax2.spines[["top", "right"]].set_visible(False)
    fig.subplots_adjust(left=0.08 if rules else 0.14, right=0.98, top=0.88, bottom=0.17,
                        wspace=0.22)
    return to_data_uri(fig)
