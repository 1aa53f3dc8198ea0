"""The Document, Rejection and ErrorRecord dataclasses and their pyarrow schemas."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

# "2": ``metadata`` and ``scores`` are ``list<struct<key, value>>`` (were Arrow maps in "1",
# which HF ``datasets`` cannot load). Readers here accept both.
SCHEMA_VERSION = "2"

_META = {b"schema_version": SCHEMA_VERSION.encode()}


def entries_type(value: pa.DataType) -> pa.DataType:
    """``list<struct<key: string not null, value>>``: a string-keyed map as a plain list of
    (key, value) structs, sorted by key.

    Arrow's ``map`` type stores exactly this, but HF ``datasets`` has no feature type for maps
    (``load_dataset("parquet")`` fails on them); a list of structs is read by ``datasets``
    (plain and streaming), pandas, DuckDB (``map_from_entries(scores)``) and polars alike, the
    schema is the same for every run (score keys depend on the config; metadata keys on the
    input), and a document without a score simply has no entry for it.
    """
    return pa.list_(pa.struct([pa.field("key", pa.string(), nullable=False),
                               pa.field("value", value)]))


_DOC_FIELDS = [
    pa.field("id", pa.string(), nullable=False),
    pa.field("text", pa.large_string(), nullable=False),
    pa.field("source", pa.string(), nullable=False),
    pa.field("url", pa.string(), nullable=True),
    pa.field("metadata", entries_type(pa.string())),
    pa.field("scores", entries_type(pa.float64())),
]

DOCUMENT_SCHEMA = pa.schema(_DOC_FIELDS, metadata={**_META, b"kind": b"document"})

REJECTION_SCHEMA = pa.schema(
    _DOC_FIELDS
    + [
        pa.field("stage", pa.string(), nullable=False),
        pa.field("filter", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("value", pa.float64()),
        pa.field("threshold", pa.float64()),
        pa.field("duplicate_of", pa.string()),
    ],
    metadata={**_META, b"kind": b"rejection"},
)

ERROR_SCHEMA = pa.schema(
    [
        pa.field("input_file", pa.string(), nullable=False),
        pa.field("line", pa.int64()),
        pa.field("error_type", pa.string(), nullable=False),
        pa.field("message", pa.string(), nullable=False),
        pa.field("raw", pa.large_binary()),
    ],
    metadata={**_META, b"kind": b"error"},
)


@dataclass
class Document:
    """One document as it travels through the pipeline.

    ``scores`` collects every filter's score, kept or not, so reports can show what another
    threshold would have done without re-running the expensive part. ``metadata`` holds the
    input record's other fields (as strings) and what stages record about the document
    (for example the detected language, or how many lines a cleaner removed).
    """

    id: str
    text: str
    source: str = ""
    url: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)

    def to_row(self) -> dict:
        """The row for ``DOCUMENT_SCHEMA``. ``metadata`` and ``scores`` are (key, value)
        pairs sorted by key (Arrow converts a tuple to a struct by position; tuples pickle
        smaller than dicts on their way through the runner), so the bytes written are the same
        whatever order stages added the entries in."""
        return {
            "id": self.id,
            "text": self.text,
            "source": self.source,
            "url": self.url,
            "metadata": sorted(self.metadata.items()),
            "scores": sorted(self.scores.items()),
        }

    @classmethod
    def from_row(cls, row: dict) -> Document:
        """A Document from a row as ``to_row`` makes it or as Arrow reads it back (entries as
        ``{"key", "value"}`` dicts; schema version 1's maps read back as pairs)."""
        return cls(
            id=row["id"],
            text=row["text"],
            source=row.get("source") or "",
            url=row.get("url"),
            metadata=entries_to_dict(row.get("metadata")),
            scores=entries_to_dict(row.get("scores")),
        )


@dataclass
class Rejection:
    """A document a filter or dedup stage removed, with why. Nothing is lost: the full
    document travels with the reason.

    ``reason`` is an enumerated code ``<filter>.<reason>`` declared by the filter.
    """

    doc: Document
    stage: str
    filter: str
    reason: str
    value: float | None = None
    threshold: float | None = None
    duplicate_of: str | None = None

    def to_row(self) -> dict:
        return {
            **self.doc.to_row(),
            "stage": self.stage,
            "filter": self.filter,
            "reason": self.reason,
            "value": _finite_or_none(self.value),
            "threshold": _finite_or_none(self.threshold),
            "duplicate_of": self.duplicate_of,
        }

    @classmethod
    def from_row(cls, row: dict) -> Rejection:
        return cls(
            doc=Document.from_row(row),
            stage=row["stage"],
            filter=row["filter"],
            reason=row["reason"],
            value=row.get("value"),
            threshold=row.get("threshold"),
            duplicate_of=row.get("duplicate_of"),
        )


@dataclass
class ErrorRecord:
    """An input record that could not become a Document (bad JSON, bad UTF-8, no text...)."""

    input_file: str
    line: int | None
    error_type: str
    message: str
    raw: bytes | None = None

    def to_row(self) -> dict:
        return {
            "input_file": self.input_file,
            "line": self.line,
            "error_type": self.error_type,
            "message": self.message,
            "raw": self.raw,
        }


def entries_to_dict(entries: Any) -> dict:
    """The dict of a ``metadata`` or ``scores`` value in any form a reader meets: a list of
    ``{"key": k, "value": v}`` structs (schema 2 read back), of ``(k, v)`` pairs (``to_row``,
    or a schema 1 map read back), a dict, None, or any iterable of those entries (pandas
    gives a numpy array of dicts).

    ``dict(entries)`` is NOT enough for the first form: each struct is a 2-item mapping, so
    ``dict`` would silently build ``{"key": "value"}``.
    """
    if entries is None:
        return {}
    if isinstance(entries, dict):
        return dict(entries)
    out = {}
    for e in entries:
        if isinstance(e, dict):
            out[e["key"]] = e["value"]
        else:
            k, v = e
            out[k] = v
    return out


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def repair_text(s: str) -> tuple[str, int]:
    """``s`` with every lone surrogate replaced by U+FFFD, and how many were replaced.

    JSON may escape a lone surrogate (``"\\ud800"`` is valid JSON) and Python then holds it in
    a ``str``, but Arrow, Parquet and every writer we use need valid UTF-8: one such code point
    in any field would kill the whole run when the first writer meets it. A data team would
    rather keep the document with a visible replacement character than lose it (or the run),
    so parsing repairs every string it produces and counts the repairs in the document's
    metadata. Valid pairs (``"\\ud83d\\ude00"``) are already one character after ``json``.
    """
    if s.isascii():  # O(1) in CPython: most strings stop here
        return s, 0
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.subn("\ufffd", s)
    return s, 0


def _finite_or_none(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if x == x else None  # NaN -> null


def documents_to_table(docs: Iterable[Document]) -> pa.Table:
    return pa.Table.from_pylist([d.to_row() for d in docs], schema=DOCUMENT_SCHEMA)


def rejections_to_table(rejs: Iterable[Rejection]) -> pa.Table:
    return pa.Table.from_pylist([r.to_row() for r in rejs], schema=REJECTION_SCHEMA)


def errors_to_table(errs: Iterable[ErrorRecord]) -> pa.Table:
    return pa.Table.from_pylist([e.to_row() for e in errs], schema=ERROR_SCHEMA)


def table_to_documents(table: pa.Table) -> list[Document]:
    return [Document.from_row(r) for r in table.to_pylist()]
