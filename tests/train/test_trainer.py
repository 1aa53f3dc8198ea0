"""The training loop on real demo shards: learning, exact resume, checkpoints, metrics, precision."""

from __future__ import annotations

import json
import math

import pytest
import torch

from gristmill.train import checkpoint as ck
from gristmill.train.config import build_configs
from gristmill.train.optim import lr_at
from gristmill.train.trainer import ResumeMismatch, train


def _metrics(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def _curve(records):
    return [(r["step"], r["loss"], r["lr"], r.get("val_loss")) for r in records]


def test_loss_falls_and_metrics_and_checkpoints_are_written(demo_shards, small_configs, tmp_path):
    m, t = small_configs(max_steps=60, eval_every=30, ckpt_every=30, log_every=10, lr=1e-2,
                         min_lr=1e-3, warmup_steps=5)
    summary = train(demo_shards, tmp_path / "run", m, t)
    recs = _metrics(tmp_path / "run")
    assert [r["step"] for r in recs] == [10, 20, 30, 40, 50, 60]
    for r in recs:
        assert {"step", "loss", "lr", "tokens_per_s", "gflops_per_s"} <= r.keys()
        assert r["tokens_per_s"] > 0 and "mfu" not in r  # CPU: GFLOP/s, no made-up MFU
    assert recs[-1]["loss"] < math.log(512) - 0.8  # well below a uniform guess (6.24)
    evals = [r for r in recs if "val_loss" in r]
    assert [r["step"] for r in evals] == [30, 60]
    assert evals[1]["val_loss"] < evals[0]["val_loss"]
    assert evals[1]["val_perplexity"] == pytest.approx(math.exp(evals[1]["val_loss"]))
    assert summary["val_loss"] == evals[1]["val_loss"]
    assert summary["num_params"] > 512 * 32 and m.vocab_size == 50257  # preset's; data sets 512

    files = sorted(p.name for p in (tmp_path / "run" / "ckpt").iterdir())
    assert files == ["best.pt", "last.pt"]  # no temp files left behind
    last = ck.load(tmp_path / "run" / "ckpt" / "last.pt")  # weights_only=True inside
    assert last["step"] == 60 and last["data"]["micro_batches"] == 60
    assert set(last["rng"][0]) == {"python", "numpy", "torch", "cuda"}
    assert last["config"]["model"]["vocab_size"] == 512 and last["eos_id"] == 0
    assert last["tokenizer"]["vocab_size"] == 512
    assert (tmp_path / "run" / "tokenizer.json").exists()  # the run carries its tokenizer
    best = ck.load(tmp_path / "run" / "ckpt" / "best.pt")
    assert best["step"] == 60 and best["val_loss"] == evals[1]["val_loss"]


def test_checkpoint_loader_refuses_pickled_objects(tmp_path):
    """weights_only=True: a checkpoint that needs arbitrary unpickling is refused, not run."""
    import pickle

    bad = tmp_path / "bad.pt"
    torch.save({"format": ck.FORMAT_VERSION, "x": _Payload()}, bad)
    with pytest.raises(ck.CheckpointError, match="not a gristmill checkpoint / corrupt: not "
                       "only tensors .*Unsupported global") as caught:
        ck.load(bad)
    assert isinstance(caught.value.__cause__, pickle.UnpicklingError)


class _Payload:
    pass


@pytest.mark.parametrize("dropout", [0.0, 0.1])
def test_interrupted_and_resumed_run_has_the_same_loss_curve(demo_shards, small_configs,
                                                             tmp_path, dropout):
    # Dropout > 0 makes the curve depend on the RNG state too, so both are exercised.
    m, t = small_configs(max_steps=8, ckpt_every=3, eval_every=4, grad_accum=2, dropout=dropout)
    train(demo_shards, tmp_path / "whole", m, t)
    train(demo_shards, tmp_path / "cut", m, t, stop_after=7)  # "killed" after step 7 ...
    assert ck.load(tmp_path / "cut" / "ckpt" / "last.pt")["step"] == 6  # ... last ckpt at 6
    summary = train(demo_shards, tmp_path / "cut", m, t, resume=True)
    assert summary["start_step"] == 6
    whole, cut = _metrics(tmp_path / "whole"), _metrics(tmp_path / "cut")
    assert [r["step"] for r in cut] == list(range(1, 9))  # steps 7.. recomputed, not duplicated
    assert _curve(cut) == _curve(whole)  # bit-for-bit equal floats
    a = ck.load(tmp_path / "whole" / "ckpt" / "last.pt")["model"]
    b = ck.load(tmp_path / "cut" / "ckpt" / "last.pt")["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_refuses_other_settings_and_fresh_run_refuses_old_dir(demo_shards, gpt2_shards,
                                                                     small_configs, tmp_path):
    m, t = small_configs(max_steps=3)
    train(demo_shards, tmp_path / "run", m, t)
    with pytest.raises(FileExistsError, match="--resume"):
        train(demo_shards, tmp_path / "run", m, t)
    m2, t2 = small_configs(max_steps=3, lr=1e-3)
    with pytest.raises(ResumeMismatch, match="lr: checkpoint 0.003, now 0.001"):
        train(demo_shards, tmp_path / "run", m2, t2, resume=True)
    with pytest.raises(ResumeMismatch, match="data: checkpoint"):  # other shards: refused
        train(gpt2_shards, tmp_path / "run", m, t, resume=True)
    # --resume with nothing to resume starts fresh.
    assert train(demo_shards, tmp_path / "new", m, t, resume=True)["start_step"] == 0


def test_grad_accumulation_equals_the_bigger_batch(demo_shards, small_configs, tmp_path):
    # 2 micro-batches of 4 read the same 8 windows as one batch of 8 (same permutation).
    m, t = small_configs(max_steps=3, batch_size=4, grad_accum=2, eval_every=0)
    train(demo_shards, tmp_path / "accum", m, t)
    m, t = small_configs(max_steps=3, batch_size=8, grad_accum=1, eval_every=0)
    train(demo_shards, tmp_path / "big", m, t)
    for a, b in zip(_metrics(tmp_path / "accum"), _metrics(tmp_path / "big"), strict=True):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-5)
    wa = ck.load(tmp_path / "accum" / "ckpt" / "last.pt")["model"]
    wb = ck.load(tmp_path / "big" / "ckpt" / "last.pt")["model"]
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], rtol=1e-4, atol=2e-5)


@pytest.mark.parametrize("dtype", ["bf16", "fp16"])
def test_mixed_precision_trains(demo_shards, small_configs, tmp_path, dtype):
    m, t = small_configs(max_steps=4, dtype=dtype, eval_every=0, ckpt_every=0)
    summary = train(demo_shards, tmp_path / dtype, m, t)
    assert summary["dtype"] == dtype
    recs = _metrics(tmp_path / dtype)
    assert all(math.isfinite(r["loss"]) for r in recs) and recs[-1]["loss"] < recs[0]["loss"]
    last = ck.load(tmp_path / dtype / "ckpt" / "last.pt")
    assert bool(last["scaler"]) == (dtype == "fp16")  # GradScaler state only with fp16
    assert last["model"]["transformer.wte.weight"].dtype == torch.float32  # master weights fp32


def test_lr_schedule_warms_up_then_cosine_to_min():
    _, t = build_configs("tiny", {"lr": 1.0, "min_lr": 0.1, "warmup_steps": 10, "max_steps": 110})
    lrs = [lr_at(s, t) for s in range(110)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert all(a < b for a, b in zip(lrs[:10], lrs[1:10], strict=False))
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:], strict=False))
    assert lrs[-1] == pytest.approx(0.1)
    assert lrs[60] == pytest.approx(0.1 + 0.5 * (1 + math.cos(math.pi * 50 / 99)) * 0.9)
