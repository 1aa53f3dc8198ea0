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
            f = step.filter
            v = f(doc)
            if v.scores:
                doc.scores.update(v.scores)
            if v.info:
                doc.metadata.update(v.info)
            if v.text is not None and step.mode == "filter":
                doc.text = v.text
            if not v.keep:
                if step.mode == "annotate":
                    doc.metadata[f"annotate.{f.name}"] = v.reason or ""
                    continue
                return doc, Rejection(
                    doc=doc,
                    stage=STAGE,
                    filter=f.name,
                    reason=v.reason or f"{f.name}.rejected",
                    value=v.value,
                    threshold=v.threshold,
                )
        return doc, None
