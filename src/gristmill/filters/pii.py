"""``pii``: a rewrite that redacts personal data and keeps every document.

E-mail addresses, IP addresses (v4 and v6), phone numbers and payment card numbers are
replaced by fixed placeholders, the same for every occurrence, so redacted text stays
deterministic and the placeholders can be counted or stripped later:

    <EMAIL>   <IP_ADDRESS>   <PHONE>   <CARD>

(``placeholders: {phone: "[phone]"}`` changes one). The counts go to ``doc.metadata`` as
``pii.email``, ``pii.ip``, ``pii.phone``, ``pii.card`` (one entry per enabled kind, "0"
included, so every document of a run has the same columns) and their sum to the score
``pii.redactions``. In ``annotate`` mode the counts are written and the text is left as it
was (``FilterChain`` applies rewrites in ``filter`` mode only).

What counts as each kind, what is left alone, and why, is in ``pii_patterns`` (the
detectors): documentation examples (``192.0.2.1``, ``bob@example.com``,
``(212) 555-0142``, card networks' test numbers) are kept unless ``redact_examples: true``;
private and loopback addresses are kept unless ``public_ips_only: false``; versions, dates,
ISBNs, coordinates, timestamps and long ids are never redacted. ``benchmarks/pii_eval.py``
measures precision and recall per kind on real text with planted PII and lookalikes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gristmill.filters.base import Filter, Verdict
from gristmill.filters.pii_patterns import KINDS, Found, Options, find

if TYPE_CHECKING:  # Document is only annotated: declaring filters needs no pyarrow
    from gristmill.schemas import Document

PLACEHOLDERS = {"email": "<EMAIL>", "ip": "<IP_ADDRESS>", "phone": "<PHONE>", "card": "<CARD>"}


class PII(Filter):
    """Redact ``kinds`` of personal data; never rejects."""

    name = "pii"
    version = "1"
    reasons = ()
    reasons_note = "none: keeps every document, rewrites its text (counts pii.<kind> in metadata)"

    def __init__(
        self,
        kinds: list[str] | tuple[str, ...] = KINDS,
        redact_examples: bool = False,
        public_ips_only: bool = True,
        card_issuers: bool = True,
        placeholders: dict[str, str] | None = None,
    ) -> None:
        if isinstance(kinds, str):
            kinds = [kinds]
        unknown = sorted(set(kinds) - set(KINDS)) + sorted(set(placeholders or {}) - set(KINDS))
        if unknown:
            raise ValueError(f"pii: unknown kind(s) {unknown}; kinds are {list(KINDS)}")
        if not kinds:
            raise ValueError(f"pii: kinds must name at least one of {list(KINDS)}")
        self.kinds = [k for k in KINDS if k in kinds]  # canonical order: same config, same output
        self.redact_examples = bool(redact_examples)
        self.public_ips_only = bool(public_ips_only)
        self.card_issuers = bool(card_issuers)
        self.placeholders = {**PLACEHOLDERS, **(placeholders or {})}
        self._options = Options(self.redact_examples, self.public_ips_only, self.card_issuers)

    def find(self, text: str) -> list[Found]:
        """The spans this filter redacts in ``text``, in order (examples and private
        addresses it recognises but keeps are left out)."""
        return [f for f in find(text, tuple(self.kinds), self._options) if f.redact]

    def redact(self, text: str) -> tuple[str, dict[str, int]]:
        """``text`` with every found span replaced by its kind's placeholder, and the count
        of each kind."""
        counts = dict.fromkeys(self.kinds, 0)
        found = self.find(text)
        if not found:
            return text, counts
        parts, pos = [], 0
        for f in found:
            parts += [text[pos:f.start], self.placeholders[f.kind]]
            counts[f.kind] += 1
            pos = f.end
        parts.append(text[pos:])
        return "".join(parts), counts

    def __call__(self, doc: Document) -> Verdict:
        text, counts = self.redact(doc.text)
        total = sum(counts.values())
        return Verdict(
            keep=True,
            text=text if total else None,
            scores={"pii.redactions": float(total)},
            info={f"pii.{k}": str(n) for k, n in counts.items()},
        )
