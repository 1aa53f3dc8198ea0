"""Small real runs for the report tests: demo text through the real pipeline.

``make_input`` writes a JSONL file of real demo documents plus planted copies (exact
duplicates with new ids, near-duplicates with a line dropped) and one malformed line, so
every report section has something to show. ``make_run`` runs ``run_pipeline`` on it with
the registered heuristic filters, exact and MinHash dedup, and GPT-2 tokenization.
"""

from __future__ import annotations

import json
from pathlib import Path

from gristmill.config import parse_config
from gristmill.pipelines.run import run_pipeline

# Real filters, with thresholds chosen so the small sample trips them.
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
    """Run the pipeline over ``make_input``'s file into ``dest/run``; returns that path."""
    cfg = {
        "filters": filters or FILTERS,
        "dedup": {"exact": {}, "minhash": {"threshold": 0.8}},
        "tokenize": {"tokenizer": "gpt2", "val_fraction": 0.1},
        "output": {"num_shards": 2},
    }
    inp = make_input(demo_dir, dest / "input", mix)
    run_dir = dest / "run"
    run_pipeline([str(inp)], str(run_dir), parse_config(cfg), overwrite=True)
    return run_dir
