"""Record schemas: versioned, lossless round trips."""

from __future__ import annotations

import pyarrow as pa

from gristmill.schemas import (
    DOCUMENT_SCHEMA,
    ERROR_SCHEMA,
    REJECTION_SCHEMA,
    SCHEMA_VERSION,
    Document,
    ErrorRecord,
    Rejection,
    documents_to_table,
    errors_to_table,
    rejections_to_table,
    table_to_documents,
)


def test_schemas_are_versioned():
    for s, kind in ((DOCUMENT_SCHEMA, b"document"), (REJECTION_SCHEMA, b"rejection"), (ERROR_SCHEMA, b"error")):
        assert s.metadata[b"schema_version"] == SCHEMA_VERSION.encode()
        assert s.metadata[b"kind"] == kind


def test_document_round_trip():
    d = Document(id="x:1", text="héllo wörld", source="s", url="http://e.x", metadata={"label": "ham"}, scores={"a.b": 0.5})
    t = documents_to_table([d])
    assert t.schema.equals(DOCUMENT_SCHEMA)
    assert table_to_documents(t) == [d]
    assert Document(id="y", text="t").source == "" and Document(id="y", text="t").scores == {}


def test_rejection_keeps_full_text_and_nan_becomes_null():
    d = Document(id="x", text="the whole text " * 100, source="s")
    r = Rejection(d, "filters", "word_count", "word_count.too_many_words", value=float("nan"), threshold=5)
    row = rejections_to_table([r]).to_pylist()[0]
    assert row["text"] == d.text and row["value"] is None and row["threshold"] == 5.0
    assert Rejection.from_row(row).doc.text == d.text


def test_error_keeps_raw_bytes():
    e = ErrorRecord("f.jsonl", 3, "invalid_utf8", "bad byte", b"\xff\xfe")
    t = errors_to_table([e])
    assert t.column("raw").type == pa.large_binary() and t.to_pylist()[0]["raw"] == b"\xff\xfe"
