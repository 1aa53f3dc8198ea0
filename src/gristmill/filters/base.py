"""The filter contract: a registry of named filters, each deciding one document at a time.

A filter is a plain Python object (no Beam, no torch) so it can be tested and benchmarked on
its own. It declares the reason codes it can give; ``Verdict`` refuses any other, so a reason
string can never drift from what happened (a weak spot of ad-hoc literals elsewhere).
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from gristmill.filters.rules import Rule, Span

if TYPE_CHECKING:  # pyarrow is not needed to declare filters (`gristmill filters list`)
    from gristmill.schemas import Document


@dataclass
class Verdict:
    """What a filter decided about one document.

    keep: False drops the document (in ``filter`` mode).
    reason: the enumerated code ``<filter>.<reason>`` when ``keep`` is False (the first rule
        that failed); None when kept.
    value / threshold: the measured number and the limit it crossed, for the rejection record.
    scores: every score the filter computed, written to ``doc.scores`` kept or not.
    text: a rewritten text (line-level cleaners such as C4), or None when unchanged.
    info: facts to record in ``doc.metadata`` (e.g. lines removed, detected language).
    """

    keep: bool
    reason: str | None = None
    value: float | None = None
    threshold: float | None = None
    scores: dict[str, float] = field(default_factory=dict)
    text: str | None = None
    info: dict[str, str] = field(default_factory=dict)


class Filter:
    """Base class of every filter.

    Subclasses set ``name`` (the registered name), ``version`` (bump when decisions change)
    and ``reasons`` (the short reason codes they may return), take their thresholds as
    keyword arguments with pinned defaults, and implement ``__call__``.
    """

    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    reasons: ClassVar[tuple[str, ...]] = ()
    # For ``gristmill filters list``: reasons that depend on the parameters (one per eval file,
    # one per user list), or why there are none (a rewrite), in words.
    reasons_note: ClassVar[str] = ""
    # The threshold rules, in the order they are checked (``filters.rules``). Reasons not
    # decided by a rule (a label list, a page-level pattern) are decided in ``__call__``.
    RULES: ClassVar[tuple[Rule, ...]] = ()

    def setup(self) -> None:
        """Load heavy resources (models). Idempotent; called once per worker process."""

    def __call__(self, doc: Document) -> Verdict:  # pragma: no cover - abstract
        raise NotImplementedError

    # declared rules ------------------------------------------------------------------------
    def rules(self) -> tuple[Rule, ...]:
        """This instance's rules (a filter whose rules depend on its parameters overrides it)."""
        return self.RULES

    def decide(self, scores: dict[str, float], **kw: Any) -> Verdict:
        """Apply the rules in order: the first that fails gives the reason, value and
        threshold; every score is written either way. ``kw`` goes to the Verdict."""
        for rule in self.rules():
            value = scores[f"{self.name}.{rule.score}"]
            threshold = rule.threshold_of(self)
            if rule.fails(value, threshold):
                return self.reject(rule.reason, value, threshold, scores, **kw)
        return Verdict(keep=True, scores=scores, **kw)

    def rule_for(self, reason: str) -> Rule | None:
        """The rule behind a reason (short ``too_few_words`` or full ``word_count.too_few_words``)."""
        short = reason.removeprefix(f"{self.name}.")
        return next((r for r in self.rules() if short == r.reason or short in r.also), None)

    def highlight(self, reason: str, text: str) -> tuple[list[Span], str]:
        """The spans of ``text`` that made a rule's score, and what they are; ([], "") for a
        reason with nothing to point at (a count, a probability)."""
        rule = self.rule_for(reason)
        if rule is None or rule.units is None:
            return [], ""
        method, _, arg = rule.units.partition(":")
        finder = getattr(self, method)
        return (finder(text, int(arg)) if arg else finder(text)), rule.label

    # helpers for subclasses -------------------------------------------------------------
    def reason_code(self, short: str) -> str:
        """``<filter>.<reason>``; refuses a reason the filter did not declare."""
        if short not in self.reasons:
            raise ValueError(f"filter {self.name!r} has no reason {short!r}; declared: {self.reasons}")
        return f"{self.name}.{short}"

    def reject(
        self,
        short: str,
        value: float | None = None,
        threshold: float | None = None,
        scores: dict[str, float] | None = None,
        **kw: Any,
    ) -> Verdict:
        return Verdict(
            keep=False,
            reason=self.reason_code(short),
            value=value,
            threshold=threshold,
            scores=scores or {},
            **kw,
        )

    def params(self) -> dict[str, Any]:
        """The filter's parameters as configured (for summaries and reproducibility)."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def all_reason_codes(self) -> list[str]:
        return [f"{self.name}.{r}" for r in self.reasons]


# The built-in filters, by name: imported on first lookup (importing a module registers
# nothing by itself; this table is the whole list).
BUILTIN_FILTERS = {
    "word_count": "gristmill.filters.word_count:WordCount",
    "gopher_quality": "gristmill.filters.gopher_quality:GopherQuality",
    "gopher_repetition": "gristmill.filters.gopher_repetition:GopherRepetition",
    "c4": "gristmill.filters.c4:C4",
    "fineweb_quality": "gristmill.filters.fineweb:FineWebQuality",
    "special_characters": "gristmill.filters.special_characters:SpecialCharacters",
    "language": "gristmill.filters.language:Language",
    "fasttext": "gristmill.filters.fasttext_filter:FastTextFilter",
    "url": "gristmill.filters.url:UrlFilter",
    "pii": "gristmill.filters.pii:PII",
    "decontaminate": "gristmill.filters.decontaminate:Decontaminate",
}
# Filters registered with ``register`` (a user's own), by name.
_REGISTRY: dict[str, type[Filter]] = {}


def register(cls: type[Filter]) -> type[Filter]:
    """Make a filter of your own available to ``create`` under ``cls.name`` (until
    ``unregister``; ``registered`` does both around a block, as tests do)."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    if cls.name in BUILTIN_FILTERS or (cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls):
        raise ValueError(f"filter name {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls
    return cls


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


@contextlib.contextmanager
def registered(*classes: type[Filter]) -> Iterator[None]:
    """Register filters for the duration of a block only."""
    for cls in classes:
        register(cls)
    try:
        yield
    finally:
        for cls in classes:
            unregister(cls.name)


def available() -> list[str]:
    return sorted({*BUILTIN_FILTERS, *_REGISTRY})


def filter_class(name: str) -> type[Filter]:
    if name in _REGISTRY:
        return _REGISTRY[name]
    if name not in BUILTIN_FILTERS:
        raise ValueError(f"unknown filter {name!r}; registered filters: {', '.join(available())}")
    module, _, attr = BUILTIN_FILTERS[name].partition(":")
    return getattr(importlib.import_module(module), attr)


def create(name: str, **params: Any) -> Filter:
    """Build a registered filter. Unknown names and unknown parameters are errors."""
    cls = filter_class(name)
    try:
        return cls(**params)
    except TypeError as e:
        raise ValueError(f"bad parameters for filter {name!r}: {e}") from None


def instance_name(name: str, params: dict[str, Any]) -> str:
    """The name a configured filter reports under (rejections, reason codes, score keys).

    Usually the registered name; a filter may set its own (``fasttext`` with ``tag: spam`` is
    ``fasttext_spam``). Building a filter loads nothing (that is ``setup()``), so this is cheap.
    """
    try:
        return create(name, **params).name
    except ValueError:
        return name

