"""Every stored score, summarised, and each declared rule's what-if: how many documents the
rule alone removes at its threshold, and (on the page) at any threshold, from the stored
scores (no re-run)."""

from __future__ import annotations

from rich.console import RenderableType

from gristmill.report import plots, whatif
from gristmill.report.cells import pct, short
from gristmill.report.html_blocks import esc, pct_cell, table
from gristmill.report.sections.base import Section
from gristmill.report.stats import RunStats
from gristmill.report.terminal_blocks import add_row
from gristmill.report.terminal_blocks import table as terminal_table
from gristmill.safe_text import plain

EXPLANATION = (
    '<p class="meta">Histograms of every stored score over the documents that reached its '
    "filter (kept, rejected by this filter, removed by another stage), the configured "
    "thresholds dashed. What-if curves: the share of those documents and characters the rule "
    "alone would remove at threshold t, from stored scores (no re-run).</p>"
)


# terminal ---------------------------------------------------------------------------------
def terminal(st: RunStats) -> list[RenderableType]:
    out: list[RenderableType] = []
    if st.scores:
        out.append(_summary_table(st))
    rules = whatif.rules(st)
    if rules:
        out.append(_rules_table(st, rules))
    return out


def _summary_table(st: RunStats) -> RenderableType:
    """Scores grouped under a bold row per filter; scores no document has are left out."""
    t = terminal_table("Scores (all documents that reached the filter)", "filter / score", "n",
                       "mean", "p5", "p50", "p95")
    last = None
    for key in st.score_keys():
        s = whatif.summary(st.scores[key])
        if not s["n"]:
            continue
        f, _, metric = key.partition(".")
        if f != last:
            add_row(t, plain(f, style="bold"), "", "", "", "", "")
            last = f
        add_row(t, "  " + (metric or key), f"{s['n']:,}", short(s["mean"]), short(s["p5"]),
                short(s["p50"]), short(s["p95"]))
    return t


def _rules_table(st: RunStats, rules: list[whatif.Rule]) -> RenderableType:
    t = terminal_table("Rules (each alone, over documents that reached it)", "rule", "docs",
                       "% docs", "% chars")
    for rule in rules:
        c = whatif.whatif(st.scores[rule.key], rule, points=2)
        add_row(t, rule.describe().replace("removed if ", ""), f"{c.docs_at_current:,}",
                pct(c.docs_at_current, c.docs),
                pct(c.chars_at_current, float(st.scores[rule.key].chars.sum())))
    return t


# page -------------------------------------------------------------------------------------
def html(st: RunStats) -> str:
    rules = whatif.rules(st)
    curves = {rule: whatif.whatif(st.scores[rule.key], rule) for rule in rules}
    summaries = {key: whatif.summary(series) for key, series in st.scores.items()}
    return (EXPLANATION + _rules_html(st, rules, curves) + _summary_html(st, summaries)
            + _figures_html(st, rules, curves, summaries))


def _rules_html(st: RunStats, rules: list[whatif.Rule],
                curves: dict[whatif.Rule, whatif.Curve]) -> str:
    rows = []
    for rule in rules:
        c = curves[rule]
        rows.append([rule.filter, rule.reason or "(from params)", rule.describe(), c.docs,
                     c.docs_at_current, pct_cell(c.docs_at_current, c.docs),
                     pct_cell(c.chars_at_current, float(st.scores[rule.key].chars.sum())),
                     rule.source])
    if not rows:
        return ""
    return table(["filter", "reason", "rule", "docs reaching", "removed alone", "% docs",
                  "% chars", "rule from"], rows)


def _summary_html(st: RunStats, summaries: dict[str, dict[str, float]]) -> str:
    rows = []
    for key in st.score_keys():
        s = summaries[key]
        if s["n"]:
            rows.append([key, s["n"], s["mean"], s["min"], s["p5"], s["p50"], s["p95"], s["max"]])
    return table(["score", "n", "mean", "min", "p5", "p50", "p95", "max"], rows)


def _figures_html(st: RunStats, rules: list[whatif.Rule],
                  curves: dict[whatif.Rule, whatif.Curve],
                  summaries: dict[str, dict[str, float]]) -> str:
    """One figure per score: its histogram with the thresholds, and its rules' curves."""
    parts = ['<div class="figs">']
    for key in st.score_keys():
        series, s = st.scores[key], summaries[key]
        if s["n"] == 0 or s["min"] == s["max"]:
            continue  # a constant score (e.g. exact duplicates' similarity 1) has no shape
        krules = [r for r in rules if r.key == key]
        parts.append(f'<figure class="score"><img alt="scores of {esc(key)}" '
                     f'src="{plots.score_figure(series, st, krules, curves)}"></figure>')
    parts.append("</div>")
    return "".join(parts)


SECTION = Section("scores", "Scores and what-if", terminal, html)
