"""Trainer throughput on CPU: the ``tiny`` preset, fp32 eager vs bf16 + torch.compile, side by side.

Trains the same model on the same demo shards (Shakespeare and Milton from the demo corpus,
GPT-2 BPE) through the real training loop (``gristmill.train.trainer.train``) once per variant,
and reports the steady-state tokens/s and achieved GFLOP/s (FLOPs from
``GPT.flops_per_token``), ignoring the first steps (warm-up, and compilation for the compiled
variants). It also measures what the data loader costs: the time to produce one micro-batch
from the memory-mapped shards, as a share of a training step (target < 1%).

    .venv/bin/python benchmarks/train.py                # all four variants
    .venv/bin/python benchmarks/train.py --variants fp32-eager,bf16-compile --steps 20
    .venv/bin/python benchmarks/train.py --threads 1    # on a busy shared machine

Results are printed as a table and written to ``runs/bench-train/results.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

VARIANTS = {
    "fp32-eager": dict(dtype="fp32", compile=False),
    "bf16-eager": dict(dtype="bf16", compile=False),
    "fp32-compile": dict(dtype="fp32", compile=True),
    "bf16-compile": dict(dtype="bf16", compile=True),
}


def build_shards(dest: Path, max_docs: int) -> Path:
    """GPT-2 BPE shards of the demo literature (the trainer's real input)."""
    from gristmill.data.demo import build_demo
    from gristmill.tokenize import load_tokenizer, write_shards

    demo = dest / "demo"
    if not (demo / "corpus" / "literature.jsonl").exists():
        build_demo(demo)
    tok = load_tokenizer("gpt2")
    docs = []
    with open(demo / "corpus" / "literature.jsonl", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            docs.append((row["id"], tok.encode(row["text"])))
            if len(docs) >= max_docs:
                break
    shards = dest / "shards"
    write_shards(docs, shards, tok, val_fraction=0.05)
    return shards


def loader_seconds_per_batch(shards: Path, block_size: int, batch_size: int, n: int = 200) -> float:
    from gristmill.tokenize import open_shards
    from gristmill.train.data import TokenWindows, WindowSampler

    s = open_shards(shards)
    sampler = WindowSampler(TokenWindows(s.arrays("train"), block_size), batch_size, seed=0)
    sampler.get(0)  # the first call draws the epoch's permutation
    t0 = time.perf_counter()
    for k in range(1, n + 1):
        sampler.get(k)
    return (time.perf_counter() - t0) / n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--steps", type=int, default=25, help="optimizer steps per variant")
    ap.add_argument("--skip", type=int, default=5, help="first steps not counted (warm-up/compile)")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    ap.add_argument("--docs", type=int, default=400, help="demo documents to tokenize")
    ap.add_argument("--out", default="runs/bench-train")
    args = ap.parse_args(argv)

    import torch

    from gristmill.train.config import build_configs
    from gristmill.train.trainer import train

    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-train-", dir=out))
    shards = build_shards(out, args.docs)
    results = []
    for name in args.variants.split(","):
        mcfg, tcfg = build_configs("tiny", dict(
            **VARIANTS[name], batch_size=args.batch_size, max_steps=args.steps, log_every=1,
            eval_every=0, eval_batches=1, ckpt_every=0, warmup_steps=2, progress=False))
        t0 = time.perf_counter()
        summary = train(shards, work / name, mcfg, tcfg)
        wall = time.perf_counter() - t0
        recs = [json.loads(line) for line in (work / name / "metrics.jsonl").open()]
        steady = [r for r in recs if r["step"] > args.skip]
        tps = statistics.median(r["tokens_per_s"] for r in steady)
        step_s = summary["tokens_per_step"] / tps
        results.append({
            "variant": name, "tokens_per_s": tps, "gflops_per_s": tps * summary["flops_per_token"] / 1e9,
            "step_s": step_s, "first_step_s": summary["tokens_per_step"] / recs[0]["tokens_per_s"],
            "final_loss": recs[-1]["loss"], "wall_s": wall, "params": summary["num_params"],
            "tokens_per_step": summary["tokens_per_step"],
        })
        print(f"{name}: {tps:,.0f} tok/s", file=sys.stderr)

    batch_s = loader_seconds_per_batch(shards, mcfg.block_size, args.batch_size)
    base = results[0]["tokens_per_s"]
    print(f"\ntiny preset: {results[0]['params'] / 1e6:.2f}M params, {results[0]['tokens_per_step']} "
          f"tokens/step, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'variant':<14}{'tokens/s':>10}{'GFLOP/s':>10}{'step s':>9}{'1st step s':>12}"
          f"{'vs ' + results[0]['variant']:>17}{'loader share':>14}")
    for r in results:
        r["loader_share"] = batch_s / r["step_s"]
        print(f"{r['variant']:<14}{r['tokens_per_s']:>10,.0f}{r['gflops_per_s']:>10.1f}"
              f"{r['step_s']:>9.3f}{r['first_step_s']:>12.2f}{r['tokens_per_s'] / base:>16.2f}x"
              f"{r['loader_share']:>13.3%}")
    print(f"data loader: {batch_s * 1e6:.0f} us per batch of {args.batch_size} x {mcfg.block_size + 1}")
    (out / "results.json").write_text(json.dumps(
        {"results": results, "loader_s_per_batch": batch_s, "threads": torch.get_num_threads(),
         "torch": torch.__version__}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
