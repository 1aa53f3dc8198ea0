"""The whole product on real demo text, as `make demo` runs it, at test size.

The built-in ``demo`` config (the recommended pipeline with the demo's two documented changes)
with small classifiers trained here in place of the built-in models, on a sample of every
demo source plus planted copies; then shard verification, the HTML report, a few training
steps on the shards, and a sample.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from gristmill.cli import main
from gristmill.config import builtin_config_text
from gristmill.schemas import entries_to_dict


def _sample(demo_dir: Path, dest: Path) -> Path:
    dest.mkdir()
    corpus = demo_dir / "corpus"
    rows = []
    for fn, n in (("fortunes.jsonl", 900), ("sms_spam.jsonl", 700), ("literature.jsonl", 250)):
        lines = (corpus / fn).read_text().splitlines()
        step = max(1, len(lines) // n)
        rows += [json.loads(x) for x in lines[::step][:n]]
    lit = [r for r in rows if r["source"].startswith("shakespeare")]
    # planted: an exact copy and a near copy (one line changed) of two scenes
    rows.append({**lit[0], "id": "planted/exact"})
    near = lit[1]["text"].split("\n")
    near[len(near) // 2] = "An inserted line that was not in the original scene."
    rows.append({**lit[1], "id": "planted/near", "text": "\n".join(near)})
    with open(dest / "sample.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    return dest


def test_demo_pipeline_end_to_end(demo_dir, spam_model, tmp_path, capsys):
    models = tmp_path / "models"
    tox = models / "toxicity.bin"
    assert main(["classifier", "train", "--data", str(demo_dir / "corpus" / "fortunes.jsonl"), "--out", str(tox),
                 "--positive", "offensive", "--dim", "20", "--bucket", "20000"]) == 0
    cfg_text = builtin_config_text("demo")
    cfg_text = cfg_text.replace("model: toxicity-fortunes", f"model: {tox}")
    cfg_text = cfg_text.replace("model: spam-sms", f"model: {spam_model.model_path}")
    assert "spam-sms" not in cfg_text and "toxicity-fortunes" not in cfg_text
    cfg = tmp_path / "demo.yaml"
    cfg.write_text(cfg_text)
    data = _sample(demo_dir, tmp_path / "in")
    run = tmp_path / "run"
    capsys.readouterr()

    assert main(["run", "--input", str(data), "--output", str(run), "--config", str(cfg)]) == 0
    s = json.loads((run / "summary.json").read_text())
    assert s["balanced"] and s["input_records"] == 1852 and s["errors"] == 0
    # dedup's spill files (under _tmp) are gone; nothing but the documented outputs remains
    assert not (run / "_tmp").exists()
    assert not run.with_name("run.partial").exists()
    bf = s["by_filter"]
    # every family removed something on real text
    for f in ("word_count", "language", "fasttext_spam", "fasttext_toxicity", "gopher_quality", "exact_dedup", "minhash"):
        assert f in bf, f"{f} removed nothing: {sorted(bf)}"
    rej = {r["id"]: r for r in pq.read_table(run / "rejected", columns=["id", "reason", "duplicate_of"]).to_pylist()}
    planted_from = {"planted/exact", "planted/near"}
    dup_reasons = {i: r["reason"] for i, r in rej.items() if r["duplicate_of"]}
    assert any(i in planted_from or rej[i]["duplicate_of"] in planted_from for i in dup_reasons)
    kept = pq.read_table(run / "kept", columns=["scores"]).to_pylist()
    assert kept and all("fasttext_toxicity.offensive" in entries_to_dict(k["scores"]) for k in kept)
    assert s["tokens"]["tokens"] > 100_000

    assert main(["shards", "verify", str(run / "shards")]) == 0
    html = tmp_path / "report.html"
    capsys.readouterr()
    assert main(["report", str(run), "--html", str(html)]) == 0
    assert html.stat().st_size > 50_000
    funnel = [ln.split()[1] for ln in capsys.readouterr().out.splitlines() if ln.startswith("after ")]
    # the funnel follows the configured order, tagged classifiers under their own names
    assert funnel[:5] == ["word_count", "language", "fasttext_spam", "fasttext_toxicity", "gopher_quality"]
    train = tmp_path / "train"
    assert main(["train", "--data", str(run / "shards"), "--out", str(train), "--preset", "tiny", "--max-steps", "3",
                 "--batch-size", "2", "--block-size", "64", "--eval-every", "3", "--eval-batches", "1",
                 "--warmup-steps", "1", "--no-progress"]) == 0
    metrics = [json.loads(x) for x in (train / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics if "loss" in m][-1] == 3
    capsys.readouterr()
    assert main(["sample", "--ckpt", str(train), "--prompt", "KING HENRY:", "--max-new-tokens", "8"]) == 0
    assert "KING HENRY:" in capsys.readouterr().out
