"""The evaluation data of an ablation, read once and fixed: every model is scored on exactly
the same texts and questions.

- A text set (``--eval FILE``, or the held-out slice) is documents in any format the pipeline
  reads (JSONL, Parquet, text, HTML; field ``text``), taken whole in the order of a hash of
  their ids until ``eval_bytes`` UTF-8 bytes are reached: a deterministic sample that does not
  depend on the file's order, bounded so the cost of an evaluation is known.
- A multiple-choice set (``--mc-eval FILE``) is JSONL in HellaSwag's layout: ``ctx`` (text),
  ``endings`` (two or more texts) and ``label`` (the right ending's index). All of it is used.

Each set has a sha256 of what is scored, so a model's stored scores are reused only for the
same data.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

import xxhash

from gristmill.errors import UserError

log = logging.getLogger("gristmill.ablate")


@dataclass
class TextSet:
    name: str
    path: str
    texts: list[str]
    bytes: int
    sha256: str

    def describe(self) -> dict:
        return {"file": self.path, "documents": len(self.texts), "bytes": self.bytes,
                "sha256": self.sha256}


@dataclass
class ChoiceItem:
    """One question: the context, the candidate endings, the index of the right one."""

    ctx: str
    endings: list[str]
    label: int


@dataclass
class ChoiceSet:
    name: str
    path: str
    items: list[ChoiceItem]
    sha256: str

    def describe(self) -> dict:
        return {"file": self.path, "items": len(self.items), "sha256": self.sha256}


def _digest(parts: list[str]) -> str:
    h = hashlib.sha256()
    for p in parts:
        b = p.encode("utf-8")
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


def load_texts(name: str, path: str, max_bytes: int) -> TextSet:
    """Documents of ``path`` in hash-of-id order, whole, until ``max_bytes`` are reached."""
    from gristmill.config import InputConfig
    from gristmill.extract.document import plain_text
    from gristmill.pipelines.parse import parse_file
    from gristmill.pipelines.readers import expand_inputs
    from gristmill.schemas import ErrorRecord

    cfg = InputConfig()
    docs, bad = {}, 0
    for f in expand_inputs([path]):
        for doc in parse_file(f, cfg):
            if isinstance(doc, ErrorRecord):
                bad += 1
            elif doc.text.strip():
                docs.setdefault(doc.id, plain_text(doc))  # an HTML file: its visible text
    if bad:
        log.warning("eval %s: %d record(s) of %s could not be read and are left out", name, bad, path)
    if not docs:
        raise UserError(f"eval set {path} has no documents with text (field 'text')")
    order = sorted(docs, key=lambda i: (xxhash.xxh64_intdigest(i.encode("utf-8")), i))
    texts, total = [], 0
    for doc_id in order:
        if total >= max_bytes:
            break
        texts.append(docs[doc_id])
        total += len(docs[doc_id].encode("utf-8"))
    return TextSet(name, path, texts, total, _digest(texts))


def _item(row: object, where: str) -> ChoiceItem:
    if not isinstance(row, dict):
        raise UserError(f"{where}: a multiple-choice line must be an object with ctx, endings, label")
    ctx, endings, label = row.get("ctx"), row.get("endings"), row.get("label")
    if not isinstance(ctx, str):
        raise UserError(f"{where}: 'ctx' must be a string")
    if (not isinstance(endings, list) or len(endings) < 2
            or not all(isinstance(e, str) for e in endings)):
        raise UserError(f"{where}: 'endings' must be a list of two or more strings")
    if isinstance(label, str) and label.strip().isdigit():
        label = int(label)
    if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < len(endings):
        raise UserError(f"{where}: 'label' must be the index of the right ending "
                        f"(0..{len(endings) - 1}), got {label!r}")
    return ChoiceItem(ctx, list(endings), label)


def load_choices(name: str, path: str) -> ChoiceSet:
    """Every question of a HellaSwag-layout JSONL file; a malformed line is an error naming it."""
    items = []
    try:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as e:
                    raise UserError(f"{path}:{n}: not JSON ({e.msg})") from None
                items.append(_item(row, f"{path}:{n}"))
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    if not items:
        raise UserError(f"multiple-choice file {path} has no questions")
    parts = [json.dumps([i.ctx, i.endings, i.label], ensure_ascii=False) for i in items]
    return ChoiceSet(name, path, items, _digest(parts))
