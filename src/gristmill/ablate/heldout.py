"""The default eval set: a slice of the raw input that no config trains on.

The slice is carved out before any filtering, by a hash of each document's id, so it is the
same documents whatever the configs do, and it is written once:

- ``DIR/eval/heldout.jsonl``: the held-out documents (``id``, ``text``, ``source``);
- ``DIR/input/part-NNNNN.jsonl``: every other document, one file per raw input file, with
  the configs' own field names (``input.text_field`` ...), so the configs read it as they
  would read the raw input; every config of the ablation runs on this directory;
- ``DIR/carve.json``: what was read and where it went. Raw records that cannot be parsed
  (bad JSON, invalid UTF-8, no text) have no id to hash and could not be trained on; they are
  counted there by type: ``raw_records = heldout + train_pool + unreadable``.

A carve is reused while the raw input files (path, size, modification time), the fraction and
the ``input:`` section are unchanged, so the pipeline runs on ``DIR/input`` stay reusable.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections import Counter
from pathlib import Path

import xxhash

from gristmill.config import InputConfig
from gristmill.extract.document import plain_text
from gristmill.pipelines import readers
from gristmill.pipelines.readers import InputFile, expand_inputs
from gristmill.schemas import Document, ErrorRecord

log = logging.getLogger("gristmill.ablate")

CARVE_FILE = "carve.json"
INPUT_DIR = "input"
HELDOUT_FILE = os.path.join("eval", "heldout.jsonl")
_SALT = b"gristmill-heldout:"


def is_heldout(doc_id: str, fraction: float) -> bool:
    """Whether a document belongs to the held-out slice: a 64-bit hash of its id below
    ``fraction`` of the range (independent of the tokenizer's train/validation hash)."""
    return xxhash.xxh64_intdigest(_SALT + doc_id.encode("utf-8")) < fraction * 2.0**64


def input_fingerprint(inputs: list[str]) -> list[dict]:
    """What identifies the raw input without reading it: each file's path, size and
    modification time (Beam's filesystems for remote paths)."""
    out = []
    for f in expand_inputs(inputs):
        if "://" in f.path:
            # Beam's filesystems, as the readers use them (gs://, s3://, hdfs://).
            meta = readers.FileSystems.match([f.path])[0].metadata_list[0]
            out.append({"path": f.path, "size": meta.size_in_bytes,
                        "mtime": meta.last_updated_in_seconds})
        else:
            st = os.stat(f.path)
            out.append({"path": os.path.abspath(f.path), "size": st.st_size, "mtime": st.st_mtime_ns})
    return out


def _train_record(doc: Document, cfg: InputConfig) -> dict:
    """A document as the configs' reader expects it: their field names, metadata flattened."""
    rec: dict = {cfg.id_field: doc.id, cfg.text_field: doc.text, cfg.source_field: doc.source}
    if doc.url is not None:
        rec[cfg.url_field] = doc.url
    for k, v in doc.metadata.items():
        rec.setdefault(k, v)
    return rec


def _line(rec: dict) -> bytes:
    return (json.dumps(rec, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")


def _documents(f: InputFile, cfg: InputConfig, unreadable: Counter):
    """The parsed documents of one raw file; what cannot be parsed is counted by type."""
    from gristmill.pipelines.parse import parse_file

    for doc in parse_file(f, cfg):
        if isinstance(doc, ErrorRecord):
            unreadable[doc.error_type] += 1
        else:
            yield doc


def _write(inputs: list[str], cfg: InputConfig, fraction: float, work: Path) -> dict:
    """Read every raw record once; write the train pool and the held-out slice under ``work``."""
    (work / INPUT_DIR).mkdir(parents=True)
    (work / "eval").mkdir()
    unreadable: Counter = Counter()
    counts = Counter()
    digest = hashlib.sha256()
    with open(work / HELDOUT_FILE, "wb") as held:
        for i, f in enumerate(expand_inputs(inputs)):
            part = work / INPUT_DIR / f"part-{i:05d}.jsonl"
            with open(part, "wb") as out:
                for doc in _documents(f, cfg, unreadable):
                    if is_heldout(doc.id, fraction):
                        held.write(_line({"id": doc.id, "text": plain_text(doc), "source": doc.source}))
                        counts["heldout"] += 1
                    else:
                        line = _line(_train_record(doc, cfg))
                        out.write(line)
                        digest.update(line)
                        counts["train_pool"] += 1
            if part.stat().st_size == 0:
                part.unlink()
    n_unreadable = sum(unreadable.values())
    return {"raw_records": counts["heldout"] + counts["train_pool"] + n_unreadable,
            "heldout": counts["heldout"], "train_pool": counts["train_pool"],
            "unreadable": n_unreadable, "unreadable_by_type": dict(sorted(unreadable.items())),
            "input_sha256": digest.hexdigest()}


def carve(inputs: list[str], cfg: InputConfig, fraction: float, ablation_dir: str | Path) -> dict:
    """Split ``inputs`` into ``DIR/input/`` and ``DIR/eval/heldout.jsonl`` (or reuse the split
    already there); returns ``carve.json``'s content."""
    root = Path(ablation_dir)
    key = {"inputs": input_fingerprint(inputs), "fraction": fraction,
           "input_config": cfg.model_dump(mode="json")}
    record = root / CARVE_FILE
    if record.is_file():
        done = json.loads(record.read_text())
        if done.get("key") == key and (root / HELDOUT_FILE).is_file() and (root / INPUT_DIR).is_dir():
            log.info("held-out slice: reusing %s (%d documents held out of %d)", root / HELDOUT_FILE,
                     done["heldout"], done["raw_records"])
            return done
    log.info("held-out slice: reading %d input(s), holding out %.2f%% of documents by id",
             len(inputs), 100 * fraction)
    record.unlink(missing_ok=True)  # written last: a carve without it is incomplete
    work = root / ".carve.partial"
    shutil.rmtree(work, ignore_errors=True)
    result = {"key": key, **_write(inputs, cfg, fraction, work)}
    for name in (INPUT_DIR, "eval"):
        shutil.rmtree(root / name, ignore_errors=True)
        os.replace(work / name, root / name)
    work.rmdir()
    tmp = root / f".{CARVE_FILE}.tmp"
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp, record)
    if result["unreadable"]:
        log.warning("held-out slice: %d raw record(s) could not be parsed (%s); no config can "
                    "train on them", result["unreadable"],
                    ", ".join(f"{k} {v}" for k, v in result["unreadable_by_type"].items()))
    log.info("held-out slice: %d documents in %s, %d in %s", result["heldout"],
             root / HELDOUT_FILE, result["train_pool"], root / INPUT_DIR)
    return result
