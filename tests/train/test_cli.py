"""The three commands end to end: train (and --resume), sample, export-hf into transformers."""

from __future__ import annotations

import json

import pytest
import torch

from gristmill.cli import main
from gristmill.train import checkpoint as ck
from gristmill.train.export_hf import export_hf
from gristmill.train.model import GPT, GPTConfig
from gristmill.train.sample import load_model

SMALL_ARGS = ["--preset", "tiny", "--n-layer", "2", "--n-head", "2", "--n-embd", "32",
              "--block-size", "32", "--batch-size", "4", "--warmup-steps", "2", "--lr", "0.01",
              "--min-lr", "0.001", "--eval-batches", "2", "--dtype", "fp32", "--no-progress"]


@pytest.fixture(scope="module")
def trained_run(demo_shards, tmp_path_factory):
    """A run trained by `gristmill train` for 30 steps."""
    run = tmp_path_factory.mktemp("cli") / "run"
    base = ["train", "--data", str(demo_shards), "--out", str(run), *SMALL_ARGS,
            "--ckpt-every", "10", "--eval-every", "10", "--log-every", "5"]
    assert main([*base, "--max-steps", "30"]) == 0
    return run


def test_train_cli_writes_a_run_and_resume_continues_it(trained_run, demo_shards, capsys):
    recs = [json.loads(line) for line in (trained_run / "metrics.jsonl").open()]
    assert [r["step"] for r in recs] == [5, 10, 15, 20, 25, 30]
    cfg = json.loads((trained_run / "config.json").read_text())
    assert cfg["model"]["n_layer"] == 2 and cfg["train"]["max_steps"] == 30
    # Already finished: --resume loads step 30 and has nothing left to do.
    args = ["train", "--data", str(demo_shards), "--out", str(trained_run), *SMALL_ARGS,
            "--ckpt-every", "10", "--eval-every", "10", "--log-every", "5", "--max-steps", "30"]
    assert main([*args, "--resume"]) == 0
    assert ck.load(trained_run / "ckpt" / "last.pt")["step"] == 30
    # Without --resume the run directory is protected; a changed schedule is refused clearly.
    assert main(args) == 2
    assert "--resume" in capsys.readouterr().err
    assert main([*args[:-1], "40", "--resume"]) == 2
    assert "max_steps: checkpoint 30, now 40" in capsys.readouterr().err


def test_train_cli_reports_bad_settings(demo_shards, tmp_path, capsys):
    assert main(["train", "--data", str(demo_shards), "--out", str(tmp_path / "r"), *SMALL_ARGS,
                 "--n-head", "3"]) == 2
    assert "divisible" in capsys.readouterr().err
    assert main(["train", "--data", str(demo_shards), "--out", str(tmp_path / "r"), *SMALL_ARGS,
                 "--batch-size", "100000"]) == 2
    assert "lower --batch-size" in capsys.readouterr().err
    assert main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "r"), *SMALL_ARGS]) == 2
    assert "manifest.json not found" in capsys.readouterr().err


def test_sample_cli_continues_the_prompt(trained_run, capsys):
    assert main(["sample", "--ckpt", str(trained_run), "--prompt", "KING HENRY", "--seed", "1",
                 "--max-new-tokens", "20", "--temperature", "0.8", "--top-k", "50"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("KING HENRY") and len(out) > len("KING HENRY") + 5
    # Same seed, with and without the KV cache: the same text.
    assert main(["sample", "--ckpt", str(trained_run), "--prompt", "KING HENRY", "--seed", "1",
                 "--max-new-tokens", "20", "--temperature", "0.8", "--top-k", "50",
                 "--no-cache"]) == 0
    assert capsys.readouterr().out == out
    assert main(["sample", "--ckpt", str(trained_run.parent / "nope"), "--prompt", "x"]) == 2
    assert "no checkpoint" in capsys.readouterr().err


def test_export_hf_loads_in_transformers_with_the_same_logits(trained_run, tmp_path):
    import transformers  # test-only dependency (pyproject [test])
    out = tmp_path / "hf"
    assert main(["export-hf", "--ckpt", str(trained_run), "--out", str(out)]) == 0
    assert {"model.safetensors", "config.json", "tokenizer.json"} <= {p.name for p in out.iterdir()}

    hf = transformers.GPT2LMHeadModel.from_pretrained(out).eval()
    ours, ckpt = load_model(trained_run)
    ids = torch.randint(0, 512, (2, 32), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want, _ = ours(ids)
        got = hf(ids).logits
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)

    tok = transformers.AutoTokenizer.from_pretrained(out)
    from gristmill.train.sample import load_run_tokenizer

    mine = load_run_tokenizer(ckpt)
    text = "O, for a Muse of fire, that would ascend the brightest heaven of invention!"
    assert tok(text)["input_ids"] == mine.encode(text)
    assert tok.eos_token_id == mine.eos_id == hf.config.eos_token_id


def test_export_without_biases_and_with_padded_vocab(demo_tokenizer, tmp_path):
    import transformers
    torch.manual_seed(0)
    model = GPT(GPTConfig(block_size=16, vocab_size=512, pad_vocab_multiple=64 * 3, n_layer=2,
                          n_head=2, n_embd=16, bias=False)).eval()
    assert model.config.padded_vocab_size == 576
    export_hf(model, demo_tokenizer, tmp_path / "hf")
    hf = transformers.GPT2LMHeadModel.from_pretrained(tmp_path / "hf").eval()
    ids = torch.randint(0, 512, (1, 16))
    with torch.no_grad():
        want = model(ids)[0][..., :512]  # padded rows are dropped from the export
        got = hf(ids).logits
    assert got.shape[-1] == 512
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.slow
def test_sigkilled_training_resumes_to_the_uninterrupted_curve(demo_shards, tmp_path):
    """A real `gristmill train` process is SIGKILLed mid-run; `--resume` then finishes it, and
    the whole metrics.jsonl equals that of a run that was never interrupted."""
    import os
    import signal
    import subprocess
    import sys
    import time

    args = ["train", "--data", str(demo_shards), *SMALL_ARGS, "--max-steps", "100",
            "--ckpt-every", "7", "--eval-every", "50", "--log-every", "1"]
    killed = tmp_path / "killed"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "gristmill.cli", *args, "--out", str(killed)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    metrics = killed / "metrics.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if metrics.exists() and sum(1 for _ in metrics.open()) >= 30:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "training finished before it could be killed"
    step_at_kill = ck.load(killed / "ckpt" / "last.pt")["step"]
    assert 0 < step_at_kill < 100

    assert main([*args, "--out", str(killed), "--resume"]) == 0
    assert main([*args, "--out", str(tmp_path / "whole")]) == 0
    curves = [[json.loads(line) for line in (run / "metrics.jsonl").open()]
              for run in (killed, tmp_path / "whole")]
    strip = [[{k: v for k, v in r.items() if k not in ("tokens_per_s", "gflops_per_s")}
              for r in c] for c in curves]
    assert len(strip[0]) == 100 and strip[0] == strip[1]
