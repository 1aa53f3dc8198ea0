"""Fuzz: documents of random Unicode (lone surrogates, NUL, controls, bidi marks, very long
words, emoji, CJK, combining marks) in every field, mixed with real demo text, through the
whole demo pipeline (classifiers, heuristics, dedup, GPT-2 shards) and the reports. The run
completes, balances, and every stage that writes succeeds (issue 12).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow.parquet as pq

from gristmill.cli import main
from gristmill.config import builtin_config_text
from gristmill.schemas import entries_to_dict

# Pools the generator draws characters from: what breaks encoders, writers and terminals.
_POOLS = [
    [chr(c) for c in range(0xD800, 0xD810)] + [chr(0xDFFF)],  # lone surrogates
    ["\x00", "\x01", "\x07", "\x1b", "\x7f", "\x85", "\x9b", "\r", "\x0b", "\x0c"],  # controls
    ["\u200e", "\u200f", "\u202a", "\u202e", "\u2066", "\u2069", "\u200b", "\ufeff"],  # bidi, ZW
    ["\u0301", "\u0308", "\u20dd"],  # combining marks
    ["😀", "👩‍👩‍👧", "🏳️‍🌈", "中", "文", "字", "ア", "한", "ß", "ﬁ", "Å", "\uffff", "\U0010ffff"],
    list("abcdefghijklmnopqrstuvwxyz     .,!?\n"),
]


def _fuzz_text(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(1, 40)):
        pool = rng.choice(_POOLS)
        parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 30))))
        if rng.random() < 0.05:
            parts.append("x" * rng.randint(2_000, 20_000))  # a very long word
        if rng.random() < 0.3:
            parts.append(" the quick brown fox jumps over the lazy dog. ")
    return "".join(parts)


def _corpus(demo_dir: Path, dest: Path, n_fuzz: int = 150) -> int:
    rng = random.Random(12)
    real = (demo_dir / "corpus" / "fortunes.jsonl").read_text().splitlines()[:200]
    real += (demo_dir / "corpus" / "sms_spam.jsonl").read_text().splitlines()[:100]
    lines = list(real)
    for i in range(n_fuzz):
        rec = {"id": f"fuzz-{i}-" + _fuzz_text(rng)[:20], "text": _fuzz_text(rng),
               "source": "fuzz/" + _fuzz_text(rng)[:10], _fuzz_text(rng)[:8] or "k": _fuzz_text(rng)[:50],
               "nested": {"deep": [_fuzz_text(rng)[:10]]}}
        lines.append(json.dumps(rec))  # ensure_ascii: lone surrogates become \udXXX escapes
    rng.shuffle(lines)
    dest.mkdir()
    (dest / "fuzz.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def test_random_unicode_through_the_whole_demo_pipeline(demo_dir, spam_model, tmp_path, capsys):
    cfg_text = builtin_config_text("demo")
    model = str(spam_model.model_path)
    cfg_text = cfg_text.replace("model: toxicity-fortunes", f"model: {model}").replace("model: spam-sms", f"model: {model}")
    assert "spam-sms" not in cfg_text and "toxicity-fortunes" not in cfg_text
    cfg_text = cfg_text.replace("remove: [offensive]", "remove: [spam]")
    cfg = tmp_path / "fuzz.yaml"
    cfg.write_text(cfg_text)
    n = _corpus(demo_dir, tmp_path / "in")
    run = tmp_path / "run"

    assert main(["run", "--input", str(tmp_path / "in"), "--output", str(run), "--config", str(cfg)]) == 0
    s = json.loads((run / "summary.json").read_text())
    assert s["input_records"] == n and s["balanced"], s
    assert s["kept"] > 0 and s["rejected"] > 0
    # every record of the run is in exactly one output, and every output was writable
    ids = [r["id"] for kind in ("kept", "rejected") for r in pq.read_table(run / kind, columns=["id"]).to_pylist()]
    assert len(ids) == len(set(ids)) == s["kept"] + s["rejected"]
    repaired = [entries_to_dict(r["metadata"]) for kind in ("kept", "rejected")
                for r in pq.read_table(run / kind, columns=["metadata"]).to_pylist()]
    assert sum(int(m.get("unicode_repaired", 0)) for m in repaired) > 0
    assert main(["shards", "verify", str(run / "shards")]) == 0
    capsys.readouterr()
    assert main(["report", str(run), "--html", str(tmp_path / "report.html")]) == 0
    assert main(["inspect", str(run), "--filter", "word_count", "-n", "3"]) == 0
    out = capsys.readouterr().out
    assert "input" in out
