"""What a different threshold would do, from the stored scores alone (no re-run).

Each filter writes every score it computes to ``doc.scores`` under ``<filter>.<metric>``,
kept or not, so for every document that reached a filter we know its score. What is not
stored anywhere is which score a rule compares with which threshold, so we recover it:

1. From rejections (preferred). A rejection carries its ``reason``, ``value`` and
   ``threshold``. The score key of the rule is the key whose score on that same document
   equals ``value``; across all rejections of a reason, a key named like the reason wins,
   then a key of the same filter, then the key matched most often.
   The side comes from ``value`` against ``threshold``: above means the rule removes scores
   above the threshold, below the reverse; any rejection exactly at the threshold means the
   comparison includes equality. The threshold is the most common one of the reason.
2. From the filter's configured params (fallback, for rules that removed nothing in this
   run): a numeric param named ``min_<metric>`` / ``<metric>_min`` (or ``max_``) of a filter
   whose score ``<filter>.<metric>`` exists gives a rule "below" (or "above") that threshold;
   params the config left out take the filter class's defaults (read from its signature).
   Such rules are taken as strict (``<`` / ``>``): nothing in the run says otherwise.

Curves are computed over the documents that have the score, i.e. those that reached the
filter; each rule is taken alone (other rules and later stages ignored). Dedup stages get
no rule: whether a document is a duplicate depends on which other documents survive, which
per-document scores cannot replay.
"""

from __future__ import annotations

import inspect
import re
from collections import Counter
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
    source: str  # "rejections" | "params"

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
    out: list[Rule] = []
    covered: set[tuple[str, str]] = set()
    dedup = {f for f, _ in st.clusters}
    for reason, rs in st.by_reason.items():
        if rs.filter in dedup:
            continue
        matches = {k: n for (r, k), n in st.value_matches.items() if r == reason}
        if not matches or not rs.thresholds:
            continue
        # Prefer the key named like the reason, then keys of the same filter, then the most
        # matches: a value of 0 also equals every other score that happens to be 0.
        short = reason.split(".", 1)[-1]
        key = max(sorted(matches), key=lambda k: (k.split(".", 1)[-1] == short,
                                                  k.split(".", 1)[0] == rs.filter, matches[k]))
        sides: Counter = st.value_sides.get((reason, key), Counter())
        if sides[1] == 0 and sides[-1] == 0:
            continue
        side = "above" if sides[1] >= sides[-1] else "below"
        threshold = float(rs.thresholds.most_common(1)[0][0])
        out.append(Rule(rs.filter, reason, key, side, threshold, sides[0] > 0, "rejections"))
        covered.add((key, side))
    for spec in st.run.filter_specs:
        name = spec.get("name", "")
        params = {**_default_params(name), **(spec.get("params") or {})}
        for param, value in sorted(params.items()):
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            m = re.fullmatch(r"(min|max)_(\w+)|(\w+)_(min|max)", param)
            if not m:
                continue
            bound = m.group(1) or m.group(4)
            metric = m.group(2) or m.group(3)
            key = f"{name}.{metric}"
            side = "below" if bound == "min" else "above"
            if key in st.scores and (key, side) not in covered:
                out.append(Rule(name, None, key, side, float(value), False, "params"))
                covered.add((key, side))
    order = {f: i for i, f in enumerate(st.filter_order())}
    return sorted(out, key=lambda r: (order.get(r.filter, 99), r.key, r.side))


def _default_params(name: str) -> dict:
    """The filter's keyword defaults (from its signature, nothing is instantiated), so rules
    the config left at their defaults still get a what-if; {} for an unknown filter."""
    from gristmill.filters.base import filter_class

    try:
        cls = filter_class(name)
    except ValueError:
        return {}
    sig = inspect.signature(cls.__init__)
    return {k: p.default for k, p in sig.parameters.items()
            if p.default is not inspect.Parameter.empty}


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
