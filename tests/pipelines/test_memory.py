"""Memory that does not grow with the corpus (issue 18), CI-sized: the same pipeline (filters,
exact + MinHash dedup, GPT-2 token shards) on N and 8N synthetic documents in ONE file, each
run in a fresh ``gristmill run`` process (one worker); the peak RSS that the run itself records
in ``summary.json`` may grow by less than a fixed margin.

Measured on the shared 2-core machine (peak RSS, N = 2,000 -> 16,000): before issue 18's
changes 402 -> 530 MB (+128 MB); after, 401 -> 493 MB (+89 to +94 MB in four runs); after the
second round (rejections and MinHash joins through files, merges of at most 16 runs) 413 -> 481
and 415 -> 498 MB (+68, +82 MB). At this
size most of what is left is warm-up (allocator arenas, caches, the budgets of the bounded
buffers filling), not per-document state; benchmarks/memory.py measures the large sizes.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
N = 2_000
MARGIN_BYTES = 110 << 20  # before the changes: +128 MB; after: +89..94 MB

CONFIG = {
    "normalize": {},
    "filters": [{"name": "word_count", "params": {"min_words": 5}}, {"name": "gopher_quality"}],
    "dedup": {"exact": {}, "minhash": {}},
    "tokenize": {"tokenizer": "gpt2", "shard_tokens": 200_000},
    "output": {"num_shards": 2},
}


def _synth():
    spec = importlib.util.spec_from_file_location("synth_corpus", REPO / "benchmarks" / "synth_corpus.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _run(corpus: Path, out: Path, cfg: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, "-m", "gristmill.cli", "run", "--input", str(corpus), "--output", str(out),
                    "--config", str(cfg), "--workers", "1", "-q"], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    return json.loads((out / "summary.json").read_text())


@pytest.mark.slow
def test_peak_memory_does_not_follow_the_corpus(demo_dir, tmp_path):
    synth = _synth()
    small = synth.write_jsonl(demo_dir, N, tmp_path / "small.jsonl")
    large = synth.write_jsonl(demo_dir, 8 * N, tmp_path / "large.jsonl")
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({**CONFIG, "input": {"split_bytes": 1 << 20}}))  # the large file: ~15 ranges

    s_small = _run(small, tmp_path / "run-small", cfg)
    s_large = _run(large, tmp_path / "run-large", cfg)

    for s, n in ((s_small, N), (s_large, 8 * N)):
        assert s["balanced"] and s["input_records"] == n
        assert s["by_filter"].get("minhash") or s["by_filter"].get("exact_dedup")  # dedup did work
        assert s["tokens"]["documents"] == s["kept"]
        assert s["spill_bytes"] > 0 and s["peak_rss_method"] == "sampled /proc process tree"
    assert s_large["spill_bytes"] > 5 * s_small["spill_bytes"]  # the growth went to disk
    growth = s_large["peak_rss_bytes"] - s_small["peak_rss_bytes"]
    assert growth < MARGIN_BYTES, (
        f"peak RSS {s_small['peak_rss_bytes'] / 1e6:.0f} MB at {N} docs, "
        f"{s_large['peak_rss_bytes'] / 1e6:.0f} MB at {8 * N}")
    assert not list((tmp_path / "run-large").rglob(".spill")) and not (tmp_path / "run-large" / "_tmp").exists()
