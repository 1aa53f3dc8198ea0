"""A filter's rules as data: which score each reason compares with which threshold.

One declaration serves every consumer: the filter decides with it (``Filter.decide``), the
report's what-if curves and threshold markers read it, ``inspect`` highlights the units it
names, and ``gristmill filters list --json`` prints it. A rule that lived twice (once in the
filter's code, once guessed by the report) drifted; a declared one cannot.

A rule reads: *reject the document with reason* ``reason`` *when*
``scores["<filter>.<score>"] <op> threshold``, where the threshold is the filter's parameter
``param``. ``param`` may address one entry of a dict parameter, ``name[key]``
(``max_top_ngram_char_frac[2]``). ``units`` names the filter method that returns the spans
of a text that made the score (lines without final punctuation, repeated n-grams, ...), as
``method`` or ``method:N`` (called with the integer N, e.g. an n-gram size), and ``label``
says what those spans are.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Any

Span = tuple[int, int]

OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_PARAM = re.compile(r"(\w+)(?:\[(\w+)\])?$")


@dataclass(frozen=True)
class Rule:
    """Reject with ``reason`` when ``score <op> threshold`` (see the module docstring)."""

    reason: str
    score: str
    op: str
    param: str
    units: str | None = None
    label: str = ""
    # Reasons the filter's code gives instead of ``reason`` when this rule fails, by facts
    # that are not a threshold (language: ``wrong_language`` when another language is on top).
    also: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise ValueError(f"rule {self.reason!r}: op must be one of {sorted(OPS)}, got {self.op!r}")
        if not _PARAM.match(self.param):
            raise ValueError(f"rule {self.reason!r}: param must be NAME or NAME[KEY], got {self.param!r}")

    def fails(self, value: float, threshold: float) -> bool:
        """True when ``value`` crosses ``threshold``: the document is rejected."""
        return OPS[self.op](value, threshold)

    @property
    def side(self) -> str:
        """``above`` when high scores are rejected, ``below`` when low ones are."""
        return "above" if self.op in (">", ">=") else "below"

    @property
    def inclusive(self) -> bool:
        """A score equal to the threshold is rejected too."""
        return self.op in ("<=", ">=")

    def threshold_of(self, owner: Any) -> float:
        """The threshold this rule reads from a filter instance's parameters."""
        name, key = _PARAM.match(self.param).groups()
        value = getattr(owner, name)
        if key is not None:
            value = value[int(key)] if int(key) in value else value[key]
        return value

    def as_dict(self, filter_name: str, threshold: float | None = None) -> dict:
        """The rule as plain data, with its full reason code and score key."""
        return {
            "reason": f"{filter_name}.{self.reason}",
            "score": f"{filter_name}.{self.score}",
            "op": self.op,
            "param": self.param,
            "threshold": threshold,
            "highlights": self.label or None,
        }
