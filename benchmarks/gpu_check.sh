#!/usr/bin/env bash
# The prepared GPU check: one short script for a lent GPU machine (a few minutes of device time).
#
#   benchmarks/gpu_check.sh [SHARDS_DIR]
#
# 1. Throughput: gpt2-small (124M) through the real trainer, bf16 autocast, torch.compile then
#    eager, a few dozen steps each on 50M random GPT-2-vocabulary tokens (throughput does not
#    depend on the text, and the GPU machine may have no network to build the demo). Prints
#    tokens/s and MFU against the GPU's dense bf16 peak from gristmill/train/perf.py (FLOPs =
#    6N + causal attention, the llm.c convention). Target on one H200: MFU >= 50% compiled.
# 2. Real data (when SHARDS_DIR, default runs/demo/shards from `make demo`, exists): the `tiny`
#    preset under torchrun, so DDP with NCCL even on one GPU; the loss must fall. Then exact
#    resume on the GPU: a run "killed" after step 60 and resumed must log the losses of the
#    uninterrupted run (printed as the largest difference). Then `gristmill sample` on the GPU.
#
# Environment: STEPS (40), BATCH (32 windows of 1024 tokens per GPU), PY (.venv/bin/python),
# NPROC (GPUs to use; default all), OUT (a folder to copy metrics.jsonl files into),
# THROUGHPUT (0 skips part 1, to rerun part 2 alone).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
STEPS=${STEPS:-40}
BATCH=${BATCH:-32}
SHARDS=${1:-runs/demo/shards}
OUT=${OUT:-}
THROUGHPUT=${THROUGHPUT:-1}
NPROC=${NPROC:-$(nvidia-smi -L 2>/dev/null | wc -l)}
[ "$NPROC" -ge 1 ] || { echo "gpu_check: no NVIDIA GPU found (nvidia-smi -L)" >&2; exit 1; }
"$PY" -c "import torch; assert torch.cuda.is_available(), 'torch has no CUDA: install a CUDA build of torch'"
"$PY" -c "import torch; print('torch', torch.__version__, '|', torch.cuda.get_device_name(0), '| GPUs:', $NPROC)"

gristmill() {  # under torchrun with NPROC processes: DDP (NCCL) even with one GPU
  "$PY" -m torch.distributed.run --standalone --nproc_per_node="$NPROC" -m gristmill.cli "$@"
}
keep() {  # keep a run's metrics beside the check's output, when OUT is set
  [ -z "$OUT" ] || cp "$1/metrics.jsonl" "$OUT/$2.metrics.jsonl"
}

# --- 1. throughput --------------------------------------------------------------------------
SYNTH=runs/gpu-check-shards
if [ "$THROUGHPUT" = 1 ] && [ ! -f "$SYNTH/manifest.json" ]; then
  echo "writing 50M random GPT-2 tokens to $SYNTH (synthetic, for throughput only)"
  "$PY" - "$SYNTH" <<'PYEOF'
import sys
import numpy as np
from gristmill.tokenize import write_shards
rng = np.random.default_rng(0)
docs = (rng.integers(0, 50256, 5000, dtype=np.int64) for _ in range(10_000))
write_shards(docs, sys.argv[1], {"name": "synthetic", "vocab_size": 50257, "eos_id": 50256},
             val_fraction=0.01)
PYEOF
fi

summarize() {  # steady state: medians over the records after step 10 (earlier ones compile)
  "$PY" - "$1/metrics.jsonl" "$2" <<'PYEOF'
import json, statistics, sys
recs = [json.loads(line) for line in open(sys.argv[1]) if '"tokens_per_s"' in line]
steady = [r for r in recs if r["step"] > 10] or recs
tps = statistics.median(r["tokens_per_s"] for r in steady)
gf = statistics.median(r["gflops_per_s"] for r in steady)
mfu = [r["mfu"] for r in steady if r.get("mfu") is not None]
print(f"{sys.argv[2]}: {tps:,.0f} tokens/s, {gf / 1000:.1f} TFLOP/s achieved, "
      + (f"MFU {statistics.median(mfu):.1%}" if mfu else "MFU n/a (GPU not in the peak table)")
      + f", last loss {recs[-1]['loss']:.3f}")
PYEOF
}

for mode in compile no-compile; do
  [ "$THROUGHPUT" = 1 ] || break
  RUN=runs/gpu-check-$mode
  rm -rf "$RUN"
  gristmill train --input "$SYNTH" --output "$RUN" --preset gpt2-small --pad-vocab-multiple 64 \
    --dtype bf16 --"$mode" --batch-size "$BATCH" --grad-accum 1 --max-steps "$STEPS" \
    --warmup-steps 10 --log-every 5 --eval-every 0 --eval-batches 1 --ckpt-every 0 \
    --no-progress --no-verify
  summarize "$RUN" "gpt2-small bf16 $mode, batch ${BATCH}x1024 per GPU"
  keep "$RUN" "gpt2-small-$mode"
done

# --- 2. real data: DDP over NCCL, exact resume, sampling ------------------------------------
if [ ! -f "$SHARDS/manifest.json" ]; then
  echo "no real shards at $SHARDS (run make demo first): real-data checks skipped"
  exit 0
fi
TINY=(--input "$SHARDS" --preset tiny --max-steps 120 --batch-size 16 --warmup-steps 20
      --lr 1e-3 --min-lr 1e-4 --eval-every 60 --eval-batches 4 --log-every 10 --ckpt-every 30
      --no-progress)
rm -rf runs/gpu-check-tiny runs/gpu-check-tiny-cut
gristmill train "${TINY[@]}" --output runs/gpu-check-tiny
keep runs/gpu-check-tiny tiny-ddp
# The "kill" after step 60 goes through the Python API (stop_after), like the resume tests.
"$PY" - "$SHARDS" <<'PYEOF'
import sys
from gristmill.train.config import build_configs
from gristmill.train.trainer import train
m, t = build_configs("tiny", dict(max_steps=120, batch_size=16, warmup_steps=20, lr=1e-3,
                                  min_lr=1e-4, eval_every=60, eval_batches=4, log_every=10,
                                  ckpt_every=30))
train(sys.argv[1], "runs/gpu-check-tiny-cut", m, t, stop_after=60)
PYEOF
"$PY" -m gristmill.cli train "${TINY[@]}" --output runs/gpu-check-tiny-cut --resume
"$PY" - runs/gpu-check-tiny runs/gpu-check-tiny-cut <<'PYEOF'
import json, sys
def losses(run):
    recs = [json.loads(line) for line in open(f"{run}/metrics.jsonl")]
    return {r["step"]: r["loss"] for r in recs if "loss" in r and "tokens_per_s" in r}
full, cut = losses(sys.argv[1]), losses(sys.argv[2])
steps = sorted(full)
print(f"tiny on real shards (DDP, NCCL): loss {full[steps[0]]:.3f} at step {steps[0]} -> "
      f"{full[steps[-1]]:.3f} at step {steps[-1]}")
assert full[steps[-1]] < full[steps[0]] - 0.5, "the loss did not fall"
after = [s for s in steps if s > 60 and s in cut]
diff = max(abs(full[s] - cut[s]) for s in after)
print(f"resume after step 60 (single process) vs uninterrupted (DDP): {len(after)} logged steps "
      f"compared, largest loss difference {diff:.2e}")
PYEOF
"$PY" -m gristmill.cli sample --input runs/gpu-check-tiny --prompt "KING HENRY:" --max-new-tokens 40
