"""What a different threshold would do, from the stored scores alone (no re-run).

Each filter writes every score it computes to ``doc.scores`` under ``<filter>.<metric>``,
kept or not, so for every document that reached a filter we know its score. Which score a
rule compares with which threshold, and how, is the filter's own declaration
(``Filter.rules()``, see ``gristmill.filters.rules``): the filters of the run are rebuilt from
its config (no model is loaded) and asked.

Curves are computed over the documents that have the score, i.e. those that reached the
filter; each rule is taken alone (other rules and later stages ignored). Dedup stages get
no rule: whether a document is a duplicate depends on which other documents survive, which
per-document scores cannot replay.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gristmill.report.stats import RunStats, ScoreSeries


@dataclass(frozen=True)
class Rule:
    """``key`` compared with ``threshold``: documents ``above`` (or ``below``) it are removed;
    ``inclusive`` when a score equal to the threshold is removed too."""

    filter: str
    reason: str | None
    key: str
    side: str  # "above" | "below"
    threshold: float
    inclusive: bool
    source: str  # "declared": read from the filter's rules

    def removes(self, values: np.ndarray, t: float | None = None) -> np.ndarray:
        t = self.threshold if t is None else t
        if self.side == "above":
            return values >= t if self.inclusive else values > t
        return values <= t if self.inclusive else values < t

    def describe(self) -> str:
        op = {("above", False): ">", ("above", True): ">=", ("below", False): "<",
              ("below", True): "<="}[(self.side, self.inclusive)]
        return f"removed if {self.key} {op} {self.threshold:g}"


def rules(st: RunStats) -> list[Rule]:
    """Every declared threshold rule of the run's filters whose score the run wrote, in the
    order the filters ran and, within a filter, the order its rules are checked."""
    out: list[Rule] = []
    for f in declared_filters(st.run.filter_specs):
        for r in f.rules():
            key = f"{f.name}.{r.score}"
            if key in st.scores:
                out.append(Rule(f.name, f"{f.name}.{r.reason}", key, r.side,
                                float(r.threshold_of(f)), r.inclusive, "declared"))
    order = {f: i for i, f in enumerate(st.filter_order())}
    return sorted(out, key=lambda r: order.get(r.filter, 99))


def declared_filters(specs: list[dict]) -> list:
    """The run's filters, rebuilt from its config (nothing loaded); a filter this version of
    gristmill does not know, or whose params it refuses, is left out."""
    from gristmill.filters import create

    out = []
    for spec in specs:
        try:
            out.append(create(spec["name"], **(spec.get("params") or {})))
        except (ValueError, TypeError, KeyError):
            continue
    return out


@dataclass
class Curve:
    rule: Rule
    thresholds: np.ndarray
    docs_frac: np.ndarray
    chars_frac: np.ndarray
    docs: int  # documents that reached the filter (have the score)
    docs_at_current: int
    chars_at_current: int


def whatif(series: ScoreSeries, rule: Rule, points: int = 200) -> Curve:
    """Fraction of documents and characters the rule alone would remove, at ``points``
    thresholds spread by the scores' quantiles (so skewed scores still get a smooth curve),
    plus the configured threshold itself."""
    ok = ~np.isnan(series.values)
    v = series.values[ok]
    c = series.chars[ok].astype(np.float64)
    n, total_chars = len(v), float(c.sum()) or 1.0
    if n == 0:
        empty = np.array([])
        return Curve(rule, empty, empty, empty, 0, 0, 0)
    grid = np.unique(np.concatenate([np.quantile(v, np.linspace(0, 1, points)), [rule.threshold]]))
    # No sort of the scores: bin each score by how many grid thresholds lie below it, then
    # cumulate. With b = #grid points below v ("left") or at-or-below v ("right"):
    #   v <  t_j  <=>  j >= b_right      v <= t_j  <=>  j >= b_left
    #   v >  t_j  <=>  j <  b_left       v >= t_j  <=>  j <  b_right
    right = (rule.side == "below") != rule.inclusive
    b = np.searchsorted(grid, v, side="right" if right else "left")
    cnt = np.cumsum(np.bincount(b, minlength=len(grid) + 1))[: len(grid)]
    chs = np.cumsum(np.bincount(b, weights=c, minlength=len(grid) + 1))[: len(grid)]
    if rule.side == "below":
        removed_docs, removed_chars = cnt, chs
    else:
        removed_docs, removed_chars = n - cnt, c.sum() - chs
    cur = rule.removes(v)
    return Curve(
        rule=rule,
        thresholds=grid,
        docs_frac=removed_docs / n,
        chars_frac=removed_chars / total_chars,
        docs=n,
        docs_at_current=int(cur.sum()),
        chars_at_current=int(c[cur].sum()),
    )


def histogram(series: ScoreSeries, st: RunStats, threshold: float | None = None, bins: int = 40):
    """Bin edges and counts per group (kept / rejected by this filter / removed elsewhere).

    The range is the 0.5-99.5% quantiles widened to include the threshold; values outside are
    counted in the edge bins so every document shows up."""
    ok = ~np.isnan(series.values)
    v, fate = series.values[ok], series.fate[ok]
    if len(v) == 0:
        return np.array([0.0, 1.0]), {}
    lo, hi = np.quantile(v, [0.005, 0.995])
    if threshold is not None:
        lo, hi = min(lo, threshold), max(hi, threshold)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    own = np.array([st.by_reason[r].filter == series.filter for r in st.reasons], dtype=bool)
    by_this = np.zeros(len(fate), dtype=bool)
    rej = fate > 0
    by_this[rej] = own[fate[rej] - 1]
    groups = {
        "kept": fate == 0,
        f"rejected by {series.filter}": by_this,
        "removed by another stage": rej & ~by_this,
    }
    clipped = np.clip(v, lo, hi)
    return edges, {g: np.histogram(clipped[m], bins=edges)[0] for g, m in groups.items()}


def summary(series: ScoreSeries) -> dict[str, float]:
    v = series.values[~np.isnan(series.values)]
    if len(v) == 0:
        return {"n": 0}
    p5, p50, p95 = np.quantile(v, [0.05, 0.5, 0.95])
    return {"n": len(v), "mean": float(v.mean()), "min": float(v.min()), "p5": float(p5),
            "p50": float(p50), "p95": float(p95), "max": float(v.max())}
