"""A seeded uniform sample of k rows per group over a stream of record batches.

``report`` samples a few rejected documents per reason and ``inspect`` a few of one filter,
while the run streams by: memory holds k rows per group, never the run.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pyarrow as pa


class Reservoir:
    """Uniform sample of k rows per code (a rejection reason) over a stream: priority
    sampling, each row gets a seeded uniform priority and the k lowest per code are held."""

    def __init__(self, k: int, seed: int) -> None:
        self.k = k
        self.rng = np.random.default_rng(seed)
        self.held: dict[int, list[tuple[float, dict]]] = defaultdict(list)

    def offer(self, batch: pa.RecordBatch, fate: np.ndarray) -> None:
        u = self.rng.random(batch.num_rows)
        for code in np.unique(fate):
            idx = np.flatnonzero(fate == code)
            if len(idx) > self.k:
                idx = idx[np.argpartition(u[idx], self.k)[: self.k]]
            held = self.held[int(code)]
            worst = max((p for p, _ in held), default=2.0)
            if len(held) >= self.k:
                idx = idx[u[idx] < worst]
            if len(idx) == 0:
                continue
            rows = batch.take(pa.array(idx)).to_pylist()
            held.extend(zip(u[idx].tolist(), rows, strict=True))
            held.sort(key=lambda pr: pr[0])
            del held[self.k :]

    def rows(self, code: int) -> list[dict]:
        return [r for _, r in sorted(self.held.get(code, []), key=lambda pr: pr[1]["id"])]
