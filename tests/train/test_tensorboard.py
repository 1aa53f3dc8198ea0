"""``train --tensorboard``: the event files, read back with TensorBoard's own reader, hold exactly
metrics.jsonl's values by step, also across a kill and ``--resume``; grad norm is always logged."""

from __future__ import annotations

import json
import sys

import numpy as np

from gristmill.cli import main
from gristmill.train import trainer
from gristmill.train.metrics_sinks import tag_for
from gristmill.train.trainer import train


def _metrics(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def _scalars(run) -> dict[str, list[tuple[int, float]]]:
    """tag -> [(step, value)] as TensorBoard shows them (purged steps dropped)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run / "tensorboard"))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def _expected(records) -> dict[str, list[tuple[int, float]]]:
    """metrics.jsonl as TensorBoard stores it: every numeric key by step, as float32."""
    want: dict[str, list[tuple[int, float]]] = {}
    for r in records:
        for key, value in r.items():
            if key != "step":
                want.setdefault(tag_for(key), []).append((r["step"], float(np.float32(value))))
    return want


def test_events_equal_metrics_jsonl_by_step(demo_shards, small_configs, tmp_path, monkeypatch):
    # A known peak makes the CPU run report MFU as a GPU run does, so that tag is covered too.
    monkeypatch.setattr(trainer, "peak_flops", lambda device, dtype: 1e12)
    m, t = small_configs(max_steps=6, log_every=2, eval_every=3, tensorboard=True)
    train(demo_shards, tmp_path / "run", m, t)
    records = _metrics(tmp_path / "run")
    assert [r["step"] for r in records] == [2, 3, 4, 6]
    got = _scalars(tmp_path / "run")
    assert {"train/loss", "train/lr", "train/grad_norm", "perf/tokens_per_s",
            "perf/gflops_per_s", "perf/mfu", "val/loss", "val/perplexity"} <= got.keys()
    assert got == _expected(records)  # every value, every step, nothing else
    assert [s for s, _ in got["val/loss"]] == [3, 6]


def test_resumed_run_continues_the_events_without_duplicate_steps(demo_shards, small_configs,
                                                                  tmp_path):
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    m, t = small_configs(max_steps=8, ckpt_every=3, eval_every=4, tensorboard=True)
    run = tmp_path / "run"
    train(demo_shards, run, m, t, stop_after=7)  # "killed" after step 7; last checkpoint at 6
    train(demo_shards, run, m, t, resume=True)  # recomputes step 7, then 8
    files = sorted((run / "tensorboard").iterdir())
    assert len(files) == 2  # one event file per process, the second continuing the first
    raw = [e.step for f in files for e in EventFileLoader(str(f)).Load()
           if any(v.tag == "train/loss" for v in e.summary.value)]
    assert sorted(raw) == [1, 2, 3, 4, 5, 6, 7, 7, 8]  # on disk, step 7 twice ...
    got = _scalars(run)
    assert [s for s, _ in got["train/loss"]] == list(range(1, 9))  # ... shown once
    assert got == _expected(_metrics(run))  # and it is the resumed run's record


def test_grad_norm_is_logged_with_and_without_clipping(demo_shards, small_configs, tmp_path):
    for clip in (1.0, 0.0):
        m, t = small_configs(max_steps=2, eval_every=0, grad_clip=clip)
        train(demo_shards, tmp_path / f"clip{clip}", m, t)
        norms = [r["grad_norm"] for r in _metrics(tmp_path / f"clip{clip}")]
        assert len(norms) == 2 and all(np.isfinite(n) and n > 0 for n in norms)


def test_tensorboard_flag_without_the_package_is_one_line(demo_shards, tmp_path, monkeypatch,
                                                          capsys):
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # import tensorboard -> ImportError
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    run = tmp_path / "run"
    assert main(["train", "--data", str(demo_shards), "--out", str(run), "--n-layer", "1",
                 "--n-embd", "16", "--n-head", "2", "--block-size", "32", "--max-steps", "1",
                 "--no-progress", "--tensorboard"]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("gristmill: error: --tensorboard needs")
    assert "pip install" in lines[0]
    assert not run.exists()  # refused before anything was written
