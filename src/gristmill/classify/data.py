"""Labelled examples for classifier training and evaluation, from JSONL or fastText files.

Formats:
- ``jsonl``: one JSON object per line; the text and the label are named fields.
- ``fasttext``: ``__label__<name> text...`` per line (fastText's own training format); the
  first label is used (these classifiers are single-label).
``auto`` picks ``jsonl`` for ``*.jsonl``/``*.json`` and ``fasttext`` otherwise.
A malformed line is an error naming the file, the line and what is wrong.

``Relabel`` rules (``--relabel FIELD=VALUE:LABEL``) give every JSONL record whose FIELD equals
VALUE the label LABEL, so a documented labelling decision (for example: the fortune files
FreeBSD installs only with the offensive set are offensive) is applied at training time,
recorded in the metrics and card, and the data file stays as published.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from gristmill.errors import UserError

LABEL_PREFIX = "__label__"


class DataError(UserError, ValueError):
    """Bad classifier input; the message names the file and line."""


@dataclass(frozen=True)
class Example:
    id: str
    text: str
    label: str
    group: str | None = None  # the value of --group-by's field (source, period, ...)


def _check_label(label: str, where: str) -> str:
    if not label or any(c.isspace() for c in label):
        raise DataError(f"{where}: label {label!r} is empty or contains whitespace (fastText labels cannot)")
    return label


@dataclass(frozen=True)
class Relabel:
    """JSONL records whose ``field`` equals ``value`` get ``label``."""

    field: str
    value: str
    label: str

    @classmethod
    def parse(cls, spec: str) -> Relabel:
        """``FIELD=VALUE:LABEL`` (the value may itself contain ``=`` or ``:``)."""
        field, eq, rest = spec.partition("=")
        value, colon, label = rest.rpartition(":")
        if not (field and eq and colon and value and label):
            raise DataError(f"--relabel {spec!r}: expected FIELD=VALUE:LABEL, "
                            f"e.g. source=fortune/limerick:offensive")
        return cls(field, value, _check_label(label, f"--relabel {spec!r}"))

    def __str__(self) -> str:
        return f"{self.field}={self.value}:{self.label}"


def detect_format(path: str | Path) -> str:
    name = str(path).lower()
    return "jsonl" if name.endswith((".jsonl", ".json", ".ndjson")) else "fasttext"


def read_examples(
    paths: list[str | Path],
    text_field: str = "text",
    label_field: str = "label",
    fmt: str = "auto",
    id_field: str = "id",
    relabel: Sequence[Relabel] = (),
    changed: Counter | None = None,
    group_field: str | None = None,
) -> list[Example]:
    """All examples of ``paths`` in file order; ids default to ``<file>:<line>``.

    ``relabel`` rules apply in order (a later matching rule wins); ``changed`` counts, per
    rule, the examples whose label it changed. ``group_field`` names the JSONL field whose
    value is each example's group (every record must have it)."""
    out: list[Example] = []
    for path, f_fmt, lineno, line in _lines(paths, fmt):
        if relabel and f_fmt != "jsonl":
            raise DataError(f"{path}: --relabel needs JSONL data (it matches a record's field)")
        if group_field and f_fmt != "jsonl":
            raise DataError(f"{path}: --group-by needs JSONL data (it reads a record's field)")
        where = f"{path}:{lineno}"
        if f_fmt == "jsonl":
            out.append(_from_json(line, where, text_field, label_field, id_field, relabel, changed,
                                  group_field))
        else:
            out.append(_from_fasttext(line, where))
    if not out:
        raise DataError(f"no examples in {', '.join(map(str, paths))}")
    return out


def _lines(paths: Sequence[str | Path], fmt: str) -> Iterator[tuple[Path, str, int, str]]:
    """(file, its format, line number, line) for every non-empty line of ``paths``; a missing
    file or an unknown format is a ``DataError``."""
    for p in paths:
        path = Path(p)
        if not path.is_file():
            raise DataError(f"classifier data file not found: {path}")
        f_fmt = detect_format(path) if fmt == "auto" else fmt
        if f_fmt not in ("jsonl", "fasttext"):
            raise DataError(f"unknown format {fmt!r}; use auto, jsonl or fasttext")
        with open(path, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if line.strip():
                    yield path, f_fmt, lineno, line


def _from_json(line: str, where: str, text_field: str, label_field: str, id_field: str,
               relabel: Sequence[Relabel] = (), changed: Counter | None = None,
               group_field: str | None = None) -> Example:
    try:
        rec = json.loads(line)
    except json.JSONDecodeError as e:
        raise DataError(f"{where}: not valid JSON ({e.msg})") from None
    if not isinstance(rec, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(rec).__name__}")
    for fld, flag in ((text_field, "--text-field"), (label_field, "--label-field"), (group_field, "--group-by")):
        if fld and fld not in rec:
            raise DataError(f"{where}: no field {fld!r} (fields: {', '.join(sorted(rec))}); "
                            f"choose it with {flag}")
    text, label = rec[text_field], rec[label_field]
    if not isinstance(text, str):
        raise DataError(f"{where}: field {text_field!r} is {type(text).__name__}, not a string")
    label = str(label)
    if label.startswith(LABEL_PREFIX):
        label = label[len(LABEL_PREFIX):]
    for rule in relabel:
        if str(rec.get(rule.field)) == rule.value and label != rule.label:
            label = rule.label
            if changed is not None:
                changed[str(rule)] += 1
    group = None if group_field is None else str(rec[group_field])
    return Example(str(rec.get(id_field, where)), text, _check_label(label, where), group)


def _from_fasttext(line: str, where: str) -> Example:
    tokens = line.split()
    labels = [t for t in tokens if t.startswith(LABEL_PREFIX)]
    if not labels:
        raise DataError(f"{where}: no {LABEL_PREFIX}<name> token (fastText format)")
    text = " ".join(t for t in tokens if not t.startswith(LABEL_PREFIX))
    return Example(where, text, _check_label(labels[0][len(LABEL_PREFIX):], where))


def read_texts(paths: list[str | Path], text_field: str = "text", fmt: str = "auto") -> list[str]:
    """The texts of ``paths`` without their labels (``classifier eval --unlabeled``): the
    ``text_field`` of JSONL records (any label field is ignored), else every non-empty line
    with its ``__label__`` tokens, if any, left out."""
    out: list[str] = []
    for path, f_fmt, lineno, line in _lines(paths, fmt):
        if f_fmt == "fasttext":
            out.append(" ".join(t for t in line.split() if not t.startswith(LABEL_PREFIX)))
            continue
        where = f"{path}:{lineno}"
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{where}: not valid JSON ({e.msg})") from None
        if not isinstance(rec, dict) or not isinstance(rec.get(text_field), str):
            raise DataError(f"{where}: no string field {text_field!r}; choose it with --text-field")
        out.append(rec[text_field])
    if not out:
        raise DataError(f"no texts in {', '.join(map(str, paths))}")
    return out
