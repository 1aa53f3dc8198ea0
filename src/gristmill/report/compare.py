"""``gristmill report --compare RUN_A RUN_B``: what changed between two runs.

A document's *fate* is ``kept`` or the reason that removed it (``absent`` when a run never
saw its id, e.g. different inputs). Fates are read from the ``id`` and ``reason`` columns
only and joined by id in Arrow, so no text is read.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from rich.console import Console
from rich.table import Table

from gristmill.report.run import RunDir
from gristmill.report.stats import STAGE_RANK
from gristmill.safe_text import plain

EXAMPLES = 3


@dataclass
class Comparison:
    a: RunDir
    b: RunDir
    counts: list[tuple[str, int, int]] = field(default_factory=list)  # (row, in A, in B)
    transitions: list[tuple[str, str, int, list[str]]] = field(default_factory=list)
    changed: int = 0
    config_changes: list[tuple[str, Any, Any]] = field(default_factory=list)


def fates(run: RunDir) -> pa.Table:
    """(id, fate) of every document of a run."""
    parts = [pa.table({"id": b.column("id"), "fate": pa.array(["kept"] * b.num_rows)})
             for b in run.iter_batches("kept", ["id"])]
    parts += [pa.table({"id": b.column("id"), "fate": b.column("reason")})
              for b in run.iter_batches("rejected", ["id", "reason"])]
    schema = pa.schema([("id", pa.string()), ("fate", pa.string())])
    if not parts:
        return schema.empty_table()
    return pa.concat_tables([p.cast(schema) for p in parts])


def _count_rows(run: RunDir, stage_of: dict[str, str]) -> Counter:
    """Documents per row of the comparison table; records each reason's stage."""
    c: Counter = Counter()
    c["input records"] = int(run.summary.get("input_records") or 0)
    c["kept"] = run.num_rows("kept")
    c["errors"] = run.num_rows("errors")
    for b in run.iter_batches("rejected", ["stage", "reason"]):
        for stage, reason in zip(b.column("stage").to_pylist(), b.column("reason").to_pylist(),
                                 strict=True):
            c[f"stage {stage}"] += 1
            c[reason] += 1
            stage_of.setdefault(reason, stage)
    return c


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(d, list):
        out = {}
        for i, v in enumerate(d):
            name = v.get("name", i) if isinstance(v, dict) else i
            out.update(_flatten(v, f"{prefix}[{name}]"))
        return out
    return {prefix: d}


def compare_runs(a: RunDir, b: RunDir) -> Comparison:
    cmp = Comparison(a, b)
    stage_of: dict[str, str] = {}
    ca, cb = _count_rows(a, stage_of), _count_rows(b, stage_of)
    stages = sorted({s for s in stage_of.values()}, key=lambda s: (STAGE_RANK.get(s, len(STAGE_RANK)), s))
    rows = ["input records"]
    for stage in stages:
        rows.append(f"stage {stage}")
        rows += sorted(r for r, s in stage_of.items() if s == stage)
    rows += ["kept", "errors"]
    cmp.counts = [(k if k in ("input records", "kept", "errors") or k.startswith("stage ")
                   else f"  {k}", ca.get(k, 0), cb.get(k, 0)) for k in rows]

    fa, fb = fates(a), fates(b)
    joined = fa.join(fb, keys="id", join_type="full outer", left_suffix="_a", right_suffix="_b",
                     coalesce_keys=True)
    fate_a = pc.fill_null(joined.column("fate_a"), "absent")
    fate_b = pc.fill_null(joined.column("fate_b"), "absent")
    diff = pc.not_equal(fate_a, fate_b)
    changed = pa.table({"id": joined.column("id"), "a": fate_a, "b": fate_b}).filter(diff)
    cmp.changed = changed.num_rows
    if changed.num_rows:
        grouped = changed.group_by(["a", "b"]).aggregate([("id", "count"), ("id", "min")])
        for row in sorted(grouped.to_pylist(), key=lambda r: (-r["id_count"], r["a"], r["b"])):
            sel = changed.filter(pc.and_(pc.equal(changed.column("a"), row["a"]),
                                         pc.equal(changed.column("b"), row["b"])))
            ids = sorted(sel.column("id").to_pylist())[:EXAMPLES]
            cmp.transitions.append((row["a"], row["b"], row["id_count"], ids))
    fa_cfg, fb_cfg = _flatten(a.config), _flatten(b.config)
    cmp.config_changes = [(k, fa_cfg.get(k), fb_cfg.get(k)) for k in sorted(set(fa_cfg) | set(fb_cfg))
                          if fa_cfg.get(k) != fb_cfg.get(k)]
    return cmp


def print_compare(cmp: Comparison, con: Console) -> None:
    # paths, config values, reasons and ids come from the runs: escaped, never markup
    con.print(plain(f"A: {cmp.a.path}"), plain(f"B: {cmp.b.path}"), sep="\n")
    if cmp.config_changes:
        t = Table(title="Config differences", title_justify="left", show_edge=False)
        for c in ("key", "A", "B"):
            t.add_column(c, overflow="fold")
        for k, va, vb in cmp.config_changes:
            t.add_row(plain(k), plain(str(va)), plain(str(vb)))
        con.print(t)
    t = Table(title="Documents per stage and reason", title_justify="left", show_edge=False)
    t.add_column("row", overflow="fold")
    for c in ("A", "B", "B - A"):
        t.add_column(c, justify="right", no_wrap=True)
    for k, na, nb in cmp.counts:
        t.add_row(plain(k), f"{na:,}", f"{nb:,}", f"{nb - na:+,}")
    con.print(t)
    t = Table(title=f"Documents whose fate changed: {cmp.changed:,}", title_justify="left",
              show_edge=False)
    t.add_column("in A", overflow="fold")
    t.add_column("in B", overflow="fold")
    t.add_column("docs", justify="right", no_wrap=True)
    t.add_column("e.g.", overflow="fold")
    for fa, fb, n, ids in cmp.transitions:
        t.add_row(plain(fa), plain(fb), f"{n:,}", plain(", ".join(ids)))
    con.print(t)
