"""Sample rejected documents of one filter (and reason) for ``gristmill inspect``."""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc

from gristmill.report.reservoir import Reservoir
from gristmill.report.run import RunDir, fetch_by_ids
from gristmill.report.stats import SAMPLE_SEED


def sample_rejected(
    run: RunDir, filter_name: str, reason: str | None = None, n: int = 5, seed: int = SAMPLE_SEED
) -> tuple[list[dict], dict[str, int]]:
    """A uniform, seeded sample of ``n`` rejections of ``filter_name`` (optionally only
    ``reason``; the code may be given with or without the ``<filter>.`` prefix), streamed
    batch by batch. Also returns the count of each reason of that filter, to list them."""
    if reason and "." not in reason:
        reason = f"{filter_name}.{reason}"
    res = Reservoir(n, seed)
    counts: dict[str, int] = {}
    cols = run.columns("rejected")
    for batch in run.iter_batches("rejected", cols):
        mask = pc.equal(batch.column("filter"), filter_name)
        if not pc.any(mask).as_py():
            continue
        sub = batch.filter(mask)
        for r, c in zip(*np.unique(np.array(sub.column("reason").to_pylist(), dtype=object),
                                   return_counts=True), strict=True):
            counts[r] = counts.get(r, 0) + int(c)
        if reason:
            sub = sub.filter(pc.equal(sub.column("reason"), reason))
        if sub.num_rows:
            res.offer(sub, np.zeros(sub.num_rows, dtype=np.int32))
    return res.rows(0), dict(sorted(counts.items()))


def representatives(run: RunDir, rows: list[dict]) -> dict[str, dict]:
    """The documents the sampled duplicates were matched to: from kept/ when the
    representative survived, else from rejected/ (removed by a later stage)."""
    ids = {r["duplicate_of"] for r in rows if r.get("duplicate_of")}
    found = {k: {**v, "fate": "kept"} for k, v in fetch_by_ids(run, "kept", ids).items()}
    for k, v in fetch_by_ids(run, "rejected", ids - set(found)).items():
        found[k] = {**v, "fate": f"rejected: {v['reason']}"}
    return found
