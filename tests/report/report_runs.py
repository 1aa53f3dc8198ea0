"""Small real runs for the report tests: demo text through the real pipeline.

``make_input`` writes a JSONL file of real demo documents plus planted copies (exact
duplicates with new ids, near-duplicates with a line dropped) and one malformed line, so
every report section has something to show. ``make_run`` runs ``run_pipeline`` on it with
every heuristic filter that is registered. When the pipeline has no dedup stage yet,
``add_dedup`` plays that stage on the written run (exact duplicates of the normalized text,
smallest id kept, like the dedup issue specifies) using the record schemas, so the dedup parts
of the report are still checked on real text.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import pyarrow.parquet as pq

from gristmill.config import parse_config
from gristmill.filters import available
from gristmill.pipelines.run import run_pipeline
from gristmill.schemas.records import (
    DOCUMENT_SCHEMA,
    Document,
    Rejection,
    rejections_to_table,
    table_to_documents,
)

# Real filters used when registered, with thresholds chosen so the small sample trips them.
FILTERS = [
    {"name": "word_count", "params": {"min_words": 8, "max_words": 2500}},
    {"name": "special_characters", "params": {}},
    {"name": "c4", "params": {}},
]
# The benchmark's chain adds Gopher's repetition rules (14 more scores per document).
BENCH_FILTERS = FILTERS[:2] + [{"name": "gopher_repetition", "params": {}}] + FILTERS[2:]


def _read(path: Path, limit: int) -> list[dict]:
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            out.append(json.loads(line))
            if len(out) >= limit:
                break
    return out


def make_input(demo_dir: Path, dest: Path, mix: tuple[int, int, int] = (300, 300, 40)) -> Path:
    """``mix``: how many fortunes, SMS messages and literature documents to take."""
    corpus = Path(demo_dir) / "corpus"
    rows = (
        _read(corpus / "fortunes.jsonl", mix[0])
        + _read(corpus / "sms_spam.jsonl", mix[1])
        + _read(corpus / "literature.jsonl", mix[2])
    )
    for r in rows[:5]:  # exact copies under new ids
        rows.append({**r, "id": f"{r['id']}-copy"})
    lit = [r for r in rows if r["source"] in ("milton", "shakespeare_modern", "shakespeare_folio")]
    for r in lit[:3]:  # near copies: one line dropped
        lines = r["text"].split("\n")
        rows.append({**r, "id": f"{r['id']}-near", "text": "\n".join(lines[:3] + lines[4:])})
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / "input.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
        f.write('{"id": "broken", "text": "unterminated\n')  # one malformed record
    return path


def make_run(
    demo_dir: Path, dest: Path, filters: list[dict] | None = None,
    mix: tuple[int, int, int] = (300, 300, 40),
) -> Path:
    specs = [f for f in (filters or FILTERS) if f["name"] in available()]
    cfg: dict = {"filters": specs, "output": {"num_shards": 2},
                 "tokenize": {"tokenizer": "gpt2", "val_fraction": 0.1}}
    has_dedup = _pipeline_has_dedup()
    if has_dedup:
        cfg["dedup"] = {"exact": {}, "minhash": {"threshold": 0.8}}
    inp = make_input(demo_dir, dest / "input", mix)
    run_dir = dest / "run"
    run_pipeline([str(inp)], str(run_dir), parse_config(cfg), overwrite=True)
    if not has_dedup:
        add_dedup(run_dir)
    return run_dir


def _pipeline_has_dedup() -> bool:
    try:
        import gristmill.pipelines.dedup  # noqa: F401
    except ImportError:
        return False
    return True


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", "", text.lower())).strip()


def add_dedup(run_dir: Path) -> None:
    """Exact dedup over kept/: move all but the smallest id of each group to rejected/."""
    kept_files = sorted((run_dir / "kept").glob("*.parquet"))
    docs: list[tuple[Path, Document]] = []
    for f in kept_files:
        docs += [(f, d) for d in table_to_documents(pq.read_table(f))]
    groups: dict[str, list[Document]] = defaultdict(list)
    for _, d in docs:
        groups[_norm(d.text)].append(d)
    dup_of: dict[str, str] = {}
    for members in groups.values():
        rep = min(m.id for m in members)
        for m in members:
            if m.id != rep:
                dup_of[m.id] = rep
    rejections = [
        Rejection(doc=d, stage="dedup", filter="exact_dedup", reason="exact_dedup.duplicate",
                  value=1.0, threshold=None, duplicate_of=dup_of[d.id])
        for _, d in docs if d.id in dup_of
    ]
    for f in kept_files:
        keep = [d.to_row() for g, d in docs if g == f and d.id not in dup_of]
        import pyarrow as pa

        pq.write_table(pa.Table.from_pylist(keep, schema=DOCUMENT_SCHEMA), f)
    pq.write_table(rejections_to_table(rejections), run_dir / "rejected" / "part-dedup.parquet")
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["kept"] -= len(rejections)
    summary["rejected"] += len(rejections)
    summary["by_filter"]["exact_dedup"] = {"exact_dedup.duplicate": len(rejections)}
    summary["by_stage"]["dedup"] = len(rejections)
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
