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
    entries_to_dict,
    entries_type,
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


def test_metadata_and_scores_are_lists_of_key_value_structs():
    """Schema 2: no Arrow map anywhere (HF datasets cannot load maps); entries sorted by key
    whatever order they were added in, so the same document always gives the same bytes."""
    for schema in (DOCUMENT_SCHEMA, REJECTION_SCHEMA):
        for name, value in (("metadata", pa.string()), ("scores", pa.float64())):
            typ = schema.field(name).type
            assert typ == entries_type(value) and not pa.types.is_map(typ)
            assert [f.name for f in typ.value_type] == ["key", "value"]
    a = Document(id="x", text="t", metadata={"b": "2", "a": "1"}, scores={"z.q": 1.0, "a.q": 2.0})
    b = Document(id="x", text="t", metadata={"a": "1", "b": "2"}, scores={"a.q": 2.0, "z.q": 1.0})
    row = documents_to_table([a]).to_pylist()[0]
    assert row["metadata"] == [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]
    assert [e["key"] for e in row["scores"]] == ["a.q", "z.q"]
    assert _parquet_bytes(documents_to_table([a])) == _parquet_bytes(documents_to_table([b]))


def _parquet_bytes(table: pa.Table) -> bytes:
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def test_from_row_reads_every_form_of_the_entries():
    want = Document(id="x", text="t", metadata={"k": "v"}, scores={"s.a": 0.5})
    as_structs = {"id": "x", "text": "t", "metadata": [{"key": "k", "value": "v"}],
                  "scores": [{"key": "s.a", "value": 0.5}]}
    as_pairs = {"id": "x", "text": "t", "metadata": [("k", "v")], "scores": [["s.a", 0.5]]}
    assert Document.from_row(as_structs) == Document.from_row(as_pairs) == want
    # a schema 1 file (Arrow maps) still reads back into the same Document
    v1 = pa.table({"id": ["x"], "text": ["t"],
                   "metadata": pa.array([[("k", "v")]], pa.map_(pa.string(), pa.string())),
                   "scores": pa.array([[("s.a", 0.5)]], pa.map_(pa.string(), pa.float64()))})
    assert table_to_documents(v1) == [want]
    assert entries_to_dict(None) == {} and entries_to_dict({"a": 1}) == {"a": 1}
    # the trap entries_to_dict exists for: dict() of structs gives {"key": "value"}
    assert dict(as_structs["metadata"]) == {"key": "value"}
