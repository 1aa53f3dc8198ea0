"""Apply an ordered list of filters to one document: the plain-Python core of ApplyFilters.

The Beam DoFn, the benchmark's plain loop and the tests all go through ``FilterChain`` so the
three can never disagree. Each step runs in ``filter`` mode (a failing verdict drops the
document, later filters do not run) or ``annotate`` mode (scores recorded, never dropped; the
would-be reason is recorded in ``metadata['annotate.<filter>']``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gristmill.filters.base import Filter, create
from gristmill.schemas import Document, Rejection

STAGE = "filters"


@dataclass
class ChainStep:
    filter: Filter
    mode: str = "filter"  # "filter" | "annotate"


class FilterChain:
    def __init__(self, steps: Sequence[ChainStep]) -> None:
        for s in steps:
            if s.mode not in ("filter", "annotate"):
                raise ValueError(f"filter {s.filter.name!r}: mode must be 'filter' or 'annotate', got {s.mode!r}")
        self.steps = list(steps)
        self._ready = False

    @classmethod
    def from_specs(cls, specs: Sequence[dict]) -> FilterChain:
        """Build from config entries ``{name, params, mode}``."""
        return cls([ChainStep(create(s["name"], **(s.get("params") or {})), s.get("mode", "filter")) for s in specs])

    def setup(self) -> None:
        if not self._ready:
            for s in self.steps:
                s.filter.setup()
            self._ready = True

    def __call__(self, doc: Document) -> tuple[Document, Rejection | None]:
        """Run the chain; returns the (possibly rewritten) document and its rejection, if any."""
        self.setup()
        for step in self.steps:
            rej = _apply(step, doc)
            if rej is not None:
                return doc, rej
        return doc, None

    def run_batch(self, docs: Sequence[Document]) -> list[tuple[Document, Rejection | None]]:
        """``[self(d) for d in docs]``, run stage by stage: the first filter over every
        document, the next filter over the survivors, and so on.

        Each document sees the same filters in the same order with the same inputs, so the
        results are those of ``__call__``; but one model or table serves many documents in a
        row and stays in the CPU caches (lid.176 costs about twice as much when the other
        filters run between two of its calls). The shared per-text caches
        (``text_units.TextCache``) hold ``BATCH_ENTRIES`` texts: batches up to that size
        compute each text's units once.
        """
        self.setup()
        docs = list(docs)
        out: list[Rejection | None] = [None] * len(docs)
        alive = list(range(len(docs)))
        for step in self.steps:
            if not alive:
                break
            survivors = []
            for i in alive:
                rej = _apply(step, docs[i])
                if rej is None:
                    survivors.append(i)
                else:
                    out[i] = rej
            alive = survivors
        return list(zip(docs, out, strict=True))


def _apply(step: ChainStep, doc: Document) -> Rejection | None:
    """Run one step on ``doc`` (updating its scores, metadata and text); the rejection when a
    ``filter``-mode step fails it, else None (the document goes on to the next step)."""
    f = step.filter
    v = f(doc)
    if v.scores:
        doc.scores.update(v.scores)
    if v.info:
        doc.metadata.update(v.info)
    if v.text is not None and step.mode == "filter":
        doc.text = v.text
    if v.keep:
        return None
    if step.mode == "annotate":
        doc.metadata[f"annotate.{f.name}"] = v.reason or ""
        return None
    return Rejection(
        doc=doc,
        stage=STAGE,
        filter=f.name,
        reason=v.reason or f"{f.name}.rejected",
        value=v.value,
        threshold=v.threshold,
    )
