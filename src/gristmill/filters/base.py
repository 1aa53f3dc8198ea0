"""The filter contract: a registry of named filters, each deciding one document at a time.

A filter is a plain Python object (no Beam, no torch) so it can be tested and benchmarked on
its own. It declares the reason codes it can give; ``Verdict`` refuses any other, so a reason
string can never drift from what happened (a weak spot of ad-hoc literals elsewhere).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

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

    def setup(self) -> None:
        """Load heavy resources (models). Idempotent; called once per worker process."""

    def __call__(self, doc: Document) -> Verdict:  # pragma: no cover - abstract
        raise NotImplementedError

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


_REGISTRY: dict[str, type[Filter]] = {}


def register(cls: type[Filter]) -> type[Filter]:
    """Class decorator: make a filter available to ``create`` under ``cls.name``."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"filter name {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls
    return cls


def _load_builtin_filters() -> None:
    # Importing the package registers the built-in filters.
    import gristmill.filters  # noqa: F401


def available() -> list[str]:
    _load_builtin_filters()
    return sorted(_REGISTRY)


def filter_class(name: str) -> type[Filter]:
    _load_builtin_filters()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"unknown filter {name!r}; registered filters: {', '.join(sorted(_REGISTRY))}"
        ) from None


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

