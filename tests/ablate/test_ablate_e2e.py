"""End to end, on real text: an ablation shows that filtering planted junk trains a better model.

The raw input is demo literature (Shakespeare, Milton) with planted junk: random-character
pages, pages of repeated boilerplate lines and spam-like lists (``planted_junk``). Config
``keep-all`` keeps everything; config ``heuristic`` applies the heuristic filters
(gopher_quality, gopher_repetition, fineweb_quality, special_characters). Tiny proxy models
(2 layers, 64 wide, a 512-token BPE) train on the same 300k tokens, two seeds each, and are
scored on held-out literature no config saw: for every seed the filtered data's model has the
lower bits per byte. Along the way: the default held-out slice of the raw input, a
multiple-choice set, an interrupted ablation that resumes where it stopped, a rerun that
reuses everything, and the report page.

Measured on 2 shared cores under a load of 2.5-3 from other jobs: 81-96 s (the four trainings
are most of it; the demo corpus fixture adds ~10 s when no other test built it).
"""

from __future__ import annotations

import json
import math
import os
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from planted_junk import junk, split_clean, write_jsonl

from gristmill.ablate.training import INTERRUPT_ENV
from gristmill.cli import main

pytestmark = pytest.mark.slow

HEURISTIC = ["gopher_quality", "gopher_repetition", "fineweb_quality", "special_characters"]
MODEL = ["--n-layer", "2", "--n-head", "2", "--n-embd", "64", "--block-size", "64",
         "--batch-size", "16", "--lr", "5e-3", "--min-lr", "5e-4", "--dtype", "fp32", "--no-progress"]


def _mc_items(docs: list[dict], n: int) -> list[dict]:
    """Questions from held-out text: a line, its real next line and three lines of other
    documents (the right ending's position rotates)."""
    rng = random.Random(0)
    lines = [[ln.strip() for ln in d["text"].splitlines() if len(ln.strip()) > 20] for d in docs]
    items = []
    for k in range(n):
        doc = lines[k % len(lines)]
        i = rng.randrange(len(doc) - 1)
        others = [rng.choice(lines[(k + j) % len(lines)]) for j in (1, 2, 3)]
        endings = others[:]
        label = k % 4
        endings.insert(label, doc[i + 1])
        items.append({"ctx": doc[i], "endings": endings, "label": label})
    return items


@pytest.fixture(scope="module")
def setup(demo_dir, tmp_path_factory):
    from gristmill.tokenize.train_bpe import train_bpe

    root = tmp_path_factory.mktemp("ablate")
    clean, held = split_clean(demo_dir, 120, 15)
    write_jsonl(root / "raw" / "clean.jsonl", clean)
    write_jsonl(root / "raw" / "junk.jsonl", junk(40, random_chars=16000))
    write_jsonl(root / "eval" / "literature.jsonl", held)
    write_jsonl(root / "eval" / "lines.jsonl", _mc_items(held, 40))
    # One tokenizer for both configs: a 512-token BPE of the clean training text.
    pq.write_table(pa.table({"text": [d["text"] for d in clean]}), root / "clean.parquet")
    train_bpe([str(root / "clean.parquet")], 512, root / "tok" / "tokenizer.json")
    tokenize = f"tokenize: {{tokenizer: {root / 'tok' / 'tokenizer.json'}, val_fraction: 0.05}}\n"
    (root / "keep-all.yaml").write_text("normalize: {}\n" + tokenize)
    (root / "heuristic.yaml").write_text(
        "normalize: {}\nfilters:\n" + "".join(f"  - name: {f}\n" for f in HEURISTIC) + tokenize)
    return root


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """One intra-op thread: on a shared, busy machine OpenMP threads waiting for each other
    make these tiny models several times slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _mtimes(out, pattern: str) -> dict:
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in sorted(out.glob(pattern))}


def test_filtering_planted_junk_trains_a_better_model_for_every_seed(setup, monkeypatch, capsys):
    out = setup / "out"
    argv = ["ablate", "--input", str(setup / "raw"), "--config", str(setup / "keep-all.yaml"),
            "--config", str(setup / "heuristic.yaml"), "--output", str(out), "--tokens", "300k",
            "--seeds", "2", "--eval", str(setup / "eval" / "literature.jsonl"),
            "--mc-eval", str(setup / "eval" / "lines.jsonl"), "--heldout-fraction", "0.05", *MODEL]

    # 1. Interrupted after the second of four evaluations of heuristic/seed-0.
    monkeypatch.setenv(INTERRUPT_ENV, "heuristic/seed-0@148")
    assert main(argv) == 130
    monkeypatch.delenv(INTERRUPT_ENV)
    assert not (out / "ablation.json").exists()
    capsys.readouterr()
    assert main(["report", str(out)]) == 2
    assert "is an ablation that has not finished" in capsys.readouterr().err
    done = json.loads((out / "models" / "keep-all" / "seed-0" / "evals.json").read_text())
    part = json.loads((out / "models" / "heuristic" / "seed-0" / "evals.json").read_text())
    assert done["trained_to"] == 293 and part["trained_to"] == 148
    assert [p["step"] for p in part["points"]] == [74, 148]
    finished = _mtimes(out, "models/keep-all/seed-0/ckpt/*.pt")

    # 2. The same command finishes it: nothing done is done again.
    assert main(argv) == 0
    assert _mtimes(out, "models/keep-all/seed-0/ckpt/*.pt") == finished
    resumed = json.loads((out / "models" / "heuristic" / "seed-0" / "evals.json").read_text())
    assert resumed["points"][:2] == part["points"]
    assert [p["step"] for p in resumed["points"]] == [74, 148, 222, 293]
    summary = capsys.readouterr().out
    assert "heuristic is better than keep-all" in summary

    report = json.loads((out / "ablation.json").read_text())
    assert (report["preset"], report["tokens"], report["seeds"]) == ("tiny", 300_000, 2)
    assert report["tokenizer"] == "tok" and report["tokenizer_shared"]
    a, b = report["configs"]
    assert (a["name"], b["name"]) == ("keep-all", "heuristic")
    assert a["train_tokens"] == b["train_tokens"] == 293 * 16 * 64
    assert b["kept_documents"] < a["kept_documents"] and b["kept_tokens"] < a["kept_tokens"]
    for c in (a, b):
        assert c["epochs"] == pytest.approx(c["train_tokens"] / c["train_split_tokens"])
        assert set(c["eval"]) == {"heldout", "literature"} and set(c["mc"]) == {"lines"}
        lit = c["eval"]["literature"]
        assert len(lit["bpb"]) == 2 and lit["mean"] == pytest.approx(sum(lit["bpb"]) / 2)
        mc = c["mc"]["lines"]
        assert len(mc["acc_norm"]) == 2 and all(0 <= x <= 1 for x in mc["acc_norm"])
        assert mc["stderr"] == pytest.approx(math.sqrt(mc["mean"] * (1 - mc["mean"]) / 40))
    # The ordering the ablation exists to show, seed by seed.
    for seed in range(2):
        assert b["eval"]["literature"]["bpb"][seed] < a["eval"]["literature"]["bpb"][seed]
    lit = next(c for c in report["comparisons"] if c["eval"] == "literature")
    assert lit["better"] == "heuristic" and lit["within_seed_spread"] is False
    # The default held-out slice: carved before filtering, never trained on.
    assert report["heldout"]["heldout"] + report["heldout"]["train_pool"] == 240
    held_ids = {json.loads(ln)["id"] for ln in (out / "eval" / "heldout.jsonl").open()}
    for name in ("keep-all", "heuristic"):
        kept = pq.read_table(out / "runs" / name / "kept", columns=["id"]).column("id").to_pylist()
        assert kept and not held_ids & set(kept)

    # 3. Unchanged: everything is reused and the results are the same.
    models = _mtimes(out, "models/*/*/ckpt/*.pt")
    runs = _mtimes(out, "runs/*/summary.json")
    assert main(argv) == 0
    assert _mtimes(out, "models/*/*/ckpt/*.pt") == models and _mtimes(out, "runs/*/summary.json") == runs
    assert json.loads((out / "ablation.json").read_text()) == report

    # 4. The report page, and the terminal summary, from the ablation directory.
    capsys.readouterr()
    assert main(["report", str(out), "--html", str(out / "report.html")]) == 0
    page = (out / "report.html").read_text()
    assert "gristmill ablation" in page and "data:image/png;base64," in page
    assert "heuristic is better than keep-all" in page and "keep-all" in page
    assert "literature bpb" in capsys.readouterr().out
    assert os.access(out / "report.html", os.R_OK)
