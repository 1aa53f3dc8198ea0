"""Turn a RawRecord into a Document, or an ErrorRecord that says what is wrong with it.

Plain Python (the Beam step in ``run.py`` only routes the two outcomes), so every rule here
is unit-testable: invalid UTF-8, malformed JSON, a record that is not an object, a missing or
non-string text field, a non-string id. Other fields of the record go to ``metadata`` as
strings (JSON for non-strings) so nothing is lost. An HTML file leaves here as its markup with
``metadata["format"] == "html"``; the ``extract`` stage (``pipelines/extract.py``) turns it into text.

Every string a Document gets from here is valid UTF-8: lone surrogates (valid in JSON as
``"\\ud800"``, fatal to every Parquet writer downstream) are replaced with U+FFFD and counted
in ``metadata["unicode_repaired"]`` (see ``repair_text``), so one odd character never costs a
document or a run. An ErrorRecord keeps at most ``RAW_PREFIX_BYTES`` of the record, with the
full length and sha256 in its message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from gristmill.config import InputConfig
from gristmill.pipelines.readers import InputFile, RawRecord, bounded_raw, read_file
from gristmill.pipelines.warc import SkippedRecord, WarcPayload, to_document
from gristmill.schemas import Document, ErrorRecord, repair_text

REPAIRED_KEY = "unicode_repaired"


class ParseError(ValueError):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ParseError("invalid_utf8", f"not valid UTF-8 at byte {e.start}: {e.reason}") from None


def _to_meta(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, sort_keys=True, default=str)


def _from_mapping(rec: dict, raw: RawRecord, cfg: InputConfig) -> Document:
    if cfg.text_field not in rec:
        raise ParseError("missing_text", f"no {cfg.text_field!r} field (set input.text_field); keys: {sorted(rec)[:10]}")
    text = rec[cfg.text_field]
    if not isinstance(text, str):
        raise ParseError("text_not_string", f"field {cfg.text_field!r} is {type(text).__name__}, not a string")
    rid = rec.get(cfg.id_field)
    if rid is None or rid == "":
        rid = f"{raw.file}:{raw.line}"
    elif isinstance(rid, int | float) and not isinstance(rid, bool):
        rid = str(rid)
    elif not isinstance(rid, str):
        raise ParseError("bad_id", f"field {cfg.id_field!r} is {type(rid).__name__}; ids must be strings or numbers")
    source = rec.get(cfg.source_field)
    source = source if isinstance(source, str) and source else raw.file
    url = rec.get(cfg.url_field)
    url = url if isinstance(url, str) else None
    skip = {cfg.text_field, cfg.id_field, cfg.source_field, cfg.url_field}
    meta = {k: _to_meta(v) for k, v in rec.items() if k not in skip and v is not None}
    return Document(id=rid, text=text, source=source, url=url, metadata=meta)


def parse_record(raw: RawRecord, cfg: InputConfig) -> Document:
    """Parse one record; raises ParseError with an error type and a message."""
    return _repaired(_parse(raw, cfg))


def _parse(raw: RawRecord, cfg: InputConfig) -> Document:
    if raw.fmt == "jsonl":
        line = _decode(raw.payload)
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise ParseError("malformed_json", f"{e.msg} at column {e.colno}") from None
        if not isinstance(rec, dict):
            raise ParseError("not_an_object", f"a JSONL line must be an object, got {type(rec).__name__}")
        return _from_mapping(rec, raw, cfg)
    if raw.fmt == "parquet":
        return _from_mapping(raw.payload, raw, cfg)
    if raw.fmt == "warc":  # a crawl record: charset decoding and metadata in warc.to_document
        return to_document(raw.file, raw.payload)  # HTML keeps its markup for the extract stage
    text = _decode(raw.payload)
    meta: dict[str, str] = {}
    if raw.fmt == "html":
        meta["format"] = "html"  # markup: the extract stage makes it text
    return Document(id=raw.file, text=text, source=raw.file, metadata=meta)


def _repaired(doc: Document) -> Document:
    """``doc`` with every string field, metadata keys and values included, repaired by
    ``repair_text``, and the number of repaired code points in ``metadata["unicode_repaired"]``
    when there are any (replacing an input field of that name). Two keys that repair to the
    same string are both kept: the later one gets more U+FFFD appended."""
    doc.text, total = repair_text(doc.text)
    doc.id, n = repair_text(doc.id)
    total += n
    doc.source, n = repair_text(doc.source)
    total += n
    if doc.url is not None:
        doc.url, n = repair_text(doc.url)
        total += n
    meta: dict[str, str] = {}
    for key, value in doc.metadata.items():
        key, n = repair_text(key)
        value, m = repair_text(value)
        total += n + m
        while key in meta:
            key += "\ufffd"
        meta[key] = value
    if total:
        meta[REPAIRED_KEY] = str(total)
    doc.metadata = meta
    return doc


def parse_or_error(raw: RawRecord, cfg: InputConfig) -> Document | ErrorRecord:
    try:
        return parse_record(raw, cfg)
    except ParseError as e:
        error_type, message = e.error_type, str(e)
    except Exception as e:  # anything unforeseen is still one quarantined record
        error_type, message = "parse_failed", f"{type(e).__name__}: {e}"
    data, note = bounded_raw(_raw_bytes(raw))
    return ErrorRecord(raw.file, raw.line, error_type, repair_text(message + note)[0], data)


def parse_file(f: InputFile, cfg: InputConfig) -> Iterator[Document | ErrorRecord]:
    """Every record of one file outside Beam (ablation slices, eval sets): a Document, or an
    ErrorRecord for what cannot be read or parsed. Crawl records that are not documents
    (``SkippedRecord``: requests, images...) are neither, so they are left out here, as the
    pipeline counts them apart."""
    for rec in read_file(f, cfg.format, cfg.max_record_bytes):
        if isinstance(rec, ErrorRecord):
            yield rec
        elif not isinstance(rec, SkippedRecord):
            yield parse_or_error(rec, cfg)


def _raw_bytes(raw: RawRecord) -> bytes:
    """The record as bytes for ``ErrorRecord.raw`` (a Parquet row as JSON); lone surrogates
    are kept as their WTF-8 bytes, since raw is binary and should show what was read."""
    p = raw.payload
    if isinstance(p, WarcPayload):
        return p.body
    if isinstance(p, bytes):
        return p
    if isinstance(p, str):
        return p.encode("utf-8", "surrogatepass")
    try:
        text = json.dumps(p, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):  # keys that do not sort or serialize
        text = repr(p)
    return text.encode("utf-8", "surrogatepass")
