"""DDP under torchrun on CPU (gloo, 2 processes) through the real CLI, against one process.

Rank r takes global micro-batches ``k * 2 + r``, so 2 ranks x 2 accumulation micro-steps read
the same 4 micro-batches per step as 1 process x 4 micro-steps, and with gradients averaged by
DDP the two runs must end with the same weights. The first micro-step of each rank runs under
``no_sync``; if it synced (or skipped the final sync) the weights would differ.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from gristmill.train import checkpoint as ck
from gristmill.train.trainer import train

FLAGS = dict(n_layer=2, n_head=2, n_embd=32, block_size=32, batch_size=4, max_steps=4,
             warmup_steps=1, lr=3e-3, min_lr=3e-4, log_every=1, eval_every=2, eval_batches=2,
             ckpt_every=2, dtype="fp32")


def test_ddp_two_cpu_processes_match_one_process_with_accumulation(demo_shards, small_configs,
                                                                   tmp_path):
    argv = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
            "-m", "gristmill.cli", "train", "--data", str(demo_shards),
            "--out", str(tmp_path / "ddp"), "--grad-accum", "2", "--no-progress"]
    for key, value in FLAGS.items():
        argv += [f"--{key.replace('_', '-')}", str(value)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]

    m, t = small_configs(**FLAGS, grad_accum=4)
    train(demo_shards, tmp_path / "single", m, t)

    ddp = ck.load(tmp_path / "ddp" / "ckpt" / "last.pt")
    one = ck.load(tmp_path / "single" / "ckpt" / "last.pt")
    assert ddp["data"]["world_size"] == 2 and len(ddp["rng"]) == 2  # every rank's RNG state
    assert ddp["data"]["micro_batches"] == one["data"]["micro_batches"] == 16
    for k in one["model"]:
        torch.testing.assert_close(ddp["model"][k], one["model"][k], rtol=1e-4, atol=2e-5)
    curves = [[json.loads(line) for line in (tmp_path / run / "metrics.jsonl").open()]
              for run in ("ddp", "single")]
    for a, b in zip(*curves, strict=True):
        assert a["step"] == b["step"] and abs(a["loss"] - b["loss"]) < 1e-4
        assert ("val_loss" in a) == ("val_loss" in b)
        if "val_loss" in a:
            assert abs(a["val_loss"] - b["val_loss"]) < 1e-4


def test_accumulation_micro_steps_skip_the_gradient_all_reduce(tmp_path):
    """Count DDP's bucket all-reduces with a comm hook: one sync per optimizer step, not per
    micro-step (a gloo group of one process is enough to make DDP communicate)."""
    import contextlib

    import torch.distributed as dist
    from torch.distributed.algorithms.ddp_comm_hooks.default_hooks import allreduce_hook
    from torch.nn.parallel import DistributedDataParallel as DDP

    from gristmill.train.model import GPT, GPTConfig
    from gristmill.train.trainer import train_step

    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0,
                            world_size=1)
    try:
        torch.manual_seed(0)
        model = GPT(GPTConfig(block_size=8, vocab_size=64, n_layer=1, n_head=2, n_embd=16))
        ddp = DDP(model)
        calls = []

        def counting_hook(state, bucket):
            calls.append(bucket.index())
            return allreduce_hook(state, bucket)

        ddp.register_comm_hook(None, counting_hook)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        scaler = torch.amp.GradScaler("cpu", enabled=False)
        data = torch.randint(0, 64, (3, 2, 9))
        for _ in range(2):
            train_step(ddp, model, opt, scaler, lambda i: (data[i, :, :-1], data[i, :, 1:]),
                       grad_accum=3, autocast=contextlib.nullcontext(), grad_clip=1.0)
        buckets = len(set(calls))
        assert buckets >= 1 and len(calls) == 2 * buckets  # 2 steps x 3 micro-steps: 2 syncs
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_ddp_ranks_all_refuse_a_damaged_shard_without_hanging(demo_shards, tmp_path):
    """Only local rank 0 reads the shards in full; the verdict is shared, so every rank exits 2
    with the same one-line error (none is left waiting in a collective) and nothing is written."""
    import shutil

    shards = shutil.copytree(demo_shards, tmp_path / "shards")
    f = sorted(shards.glob("train-*.arrow"))[0]
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0x01
    f.write_bytes(bytes(data))
    argv = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
            "-m", "gristmill.cli", "train", "--data", str(shards), "--out", str(tmp_path / "run"),
            "--no-progress"]
    for key, value in FLAGS.items():
        argv += [f"--{key.replace('_', '-')}", str(value)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.startswith("gristmill: error:")]
    assert len(errors) == 2 and errors[0] == errors[1] and f.name in errors[0], proc.stderr[-3000:]
    assert "sha256" in errors[0]
    assert not (tmp_path / "run").exists()
