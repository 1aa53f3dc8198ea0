"""Reading evaluation sets for ``decontaminate``: JSONL, JSON, Parquet and plain text.

Kept apart from the matching so the formats and their rules (documented in
``gristmill.filters.decontaminate``) read in one place. Every failure is a ``UserError``
naming the file (and line), because eval files are the user's to fix.
"""

from __future__ import annotations

import gzip
import io
import json
import re
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import IO, Any

from gristmill.errors import UserError

# Fields read from a record that has none of ``text_fields``: the usual QA layouts (MMLU,
# ARC, HellaSwag, PIQA, SQuAD, BoolQ, GSM8K, NLI sets, RACE, StoryCloze, prompt/completion).
QA_FIELDS = ("question", "answer", "answers", "choices", "options", "endings", "context", "passage",
             "premise", "hypothesis", "sentence", "sentence1", "sentence2", "query", "prompt",
             "completion", "goal", "sol1", "sol2", "ctx", "article", "story", "problem", "solution",
             "input", "output", "target")
SUFFIXES = (".jsonl.gz", ".json.gz", ".jsonl", ".json", ".ndjson", ".parquet", ".txt")


def stem_of(path: str) -> str:
    """The reason-code name of an eval file: its name without the format suffix, with any
    character other than letters, digits, ``_`` and ``-`` replaced by ``_``."""
    name = PurePosixPath(str(path).replace("\\", "/")).name
    for suffix in SUFFIXES:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return re.sub(r"[^A-Za-z0-9_-]", "_", name) or "eval"


def _open(path: str) -> IO[bytes]:
    """A local path, or a URI that Arrow's filesystems read (``s3://``, ``gs://``, ``hdfs://``:
    the eval files must be readable where the workers run)."""
    try:
        if "://" in path:
            import pyarrow.fs as pafs

            fs, inner = pafs.FileSystem.from_uri(path)
            if fs.get_file_info(inner).type == pafs.FileType.NotFound:
                raise FileNotFoundError(path)
            f: IO[bytes] = fs.open_input_stream(inner)  # type: ignore[assignment]
        else:
            f = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    except FileNotFoundError:
        raise UserError(f"decontaminate: eval file not found: {path}") from None
    except Exception as e:  # OSError, or Arrow's error for a filesystem it cannot reach
        raise UserError(f"decontaminate: cannot read eval file {path}: {e}") from None
    return gzip.open(f) if path.lower().endswith(".gz") else f  # type: ignore[return-value]


def _strings(value: Any) -> Iterator[str]:
    """The strings of a field value: a string; each string of a list; a dict's ``text``."""
    if isinstance(value, str):
        if value.strip():
            yield value
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, dict) and "text" in value:
        yield from _strings(value["text"])


def _record_texts(rec: Any, text_fields: list[str], where: str) -> Iterator[str]:
    if not isinstance(rec, dict):
        raise UserError(f"decontaminate: {where}: a record must be a JSON object, got {type(rec).__name__}")
    fields = [f for f in text_fields if f in rec] or [f for f in QA_FIELDS if f in rec]
    if not fields:
        raise UserError(f"decontaminate: {where}: none of the fields {text_fields} or {list(QA_FIELDS)}; "
                        "set text_fields to the field that holds the text")
    for f in fields:
        yield from _strings(rec[f])


def _json_records(path: str, f: IO[bytes]) -> Iterator[tuple[Any, str]]:
    text = io.TextIOWrapper(f, encoding="utf-8")
    try:
        head = text.read(1)
        while head.isspace():
            head = text.read(1)
        if head == "[":  # a JSON array of records
            for i, rec in enumerate(json.loads(head + text.read())):
                yield rec, f"{path}: record {i + 1}"
            return
        for n, line in enumerate(text, start=1):
            line = (head + line) if n == 1 else line
            if line.strip():
                yield json.loads(line), f"{path}:{n}"
    except json.JSONDecodeError as e:
        raise UserError(f"decontaminate: {path}: invalid JSON ({e})") from None
    except UnicodeDecodeError as e:
        raise UserError(f"decontaminate: {path}: not UTF-8 ({e})") from None


def read_eval_texts(path: str, text_fields: list[str]) -> Iterator[str]:
    """Every eval text of ``path`` (formats and field rules: ``gristmill.filters.decontaminate``)."""
    low = path.lower()
    if not low.endswith(SUFFIXES):
        raise UserError(f"decontaminate: {path}: unsupported eval file type; use one of {', '.join(SUFFIXES)}")
    with _open(path) as f:
        if low.endswith(".parquet"):
            yield from _parquet_texts(path, f, text_fields)
        elif low.endswith(".txt"):
            try:
                for line in io.TextIOWrapper(f, encoding="utf-8"):
                    if line.strip():
                        yield line.rstrip("\n")
            except UnicodeDecodeError as e:
                raise UserError(f"decontaminate: {path}: not UTF-8 ({e})") from None
        else:
            for rec, where in _json_records(path, f):
                yield from _record_texts(rec, text_fields, where)


def _parquet_texts(path: str, f: IO[bytes], text_fields: list[str]) -> Iterator[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(pa.BufferReader(f.read()))
    except pa.ArrowException as e:
        raise UserError(f"decontaminate: {path}: not a Parquet file ({e})") from None
    names = set(pf.schema_arrow.names)
    cols = [c for c in text_fields if c in names] or [c for c in QA_FIELDS if c in names]
    if not cols:
        raise UserError(f"decontaminate: {path}: none of the columns {text_fields} or {list(QA_FIELDS)}; "
                        "set text_fields to the column that holds the text")
    for batch in pf.iter_batches(columns=cols):
        for rec in batch.to_pylist():
            for c in cols:
                yield from _strings(rec[c])
