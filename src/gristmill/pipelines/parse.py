"""Turn a RawRecord into a Document, or an ErrorRecord that says what is wrong with it.

Plain Python (the Beam step in ``run.py`` only routes the two outcomes), so every rule here
is unit-testable: invalid UTF-8, malformed JSON, a record that is not an object, a missing or
non-string text field, a non-string id. Other fields of the record go to ``metadata`` as
strings (JSON for non-strings) so nothing is lost.
"""

from __future__ import annotations

import json
from typing import Any

from gristmill.config import InputConfig
from gristmill.pipelines.readers import RawRecord, html_to_text
from gristmill.schemas import Document, ErrorRecord


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
    text = _decode(raw.payload)
    meta: dict[str, str] = {}
    if raw.fmt == "html":
        text = html_to_text(text)
        meta["format"] = "html"
    return Document(id=raw.file, text=text, source=raw.file, metadata=meta)


def parse_or_error(raw: RawRecord, cfg: InputConfig) -> Document | ErrorRecord:
    try:
        return parse_record(raw, cfg)
    except ParseError as e:
        return ErrorRecord(raw.file, raw.line, e.error_type, str(e), _raw_bytes(raw))
    except Exception as e:  # anything unforeseen is still one quarantined record
        return ErrorRecord(raw.file, raw.line, "parse_failed", f"{type(e).__name__}: {e}", _raw_bytes(raw))


def _raw_bytes(raw: RawRecord) -> bytes:
    p = raw.payload
    if isinstance(p, bytes):
        return p
    if isinstance(p, str):
        return p.encode("utf-8", "surrogatepass")
    return json.dumps(p, ensure_ascii=False, sort_keys=True, default=str).encode()
