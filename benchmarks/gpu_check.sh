#!/usr/bin/env bash
# GPU throughput check: gpt2-small (124M), bf16 autocast + torch.compile, a few dozen steps
# through the real trainer; prints tokens/s and MFU (against the GPU's dense bf16 peak from
# gristmill/train/perf.py, FLOPs = 6N + causal attention, the llm.c convention).
#
#   benchmarks/gpu_check.sh [SHARDS_DIR]
#
# SHARDS_DIR defaults to runs/demo/shards (from `make demo`); if it does not exist, random
# GPT-2-vocabulary tokens are written as shards instead (throughput does not depend on the
# text, and the GPU machine may have no network to build the demo). With several GPUs it runs
# under torchrun with DDP (NPROC=1 forces one). Environment: STEPS (40), BATCH (32 windows of
# 1024 tokens per GPU), PY (.venv/bin/python).
# Target on one H200: MFU >= 50%.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
STEPS=${STEPS:-40}
BATCH=${BATCH:-32}
SHARDS=${1:-runs/demo/shards}
RUN=runs/gpu-check
NPROC=${NPROC:-$(nvidia-smi -L 2>/dev/null | wc -l)}
[ "$NPROC" -ge 1 ] || { echo "gpu_check: no NVIDIA GPU found (nvidia-smi -L)" >&2; exit 1; }
"$PY" -c "import torch; assert torch.cuda.is_available(), 'torch has no CUDA: install a CUDA build of torch'"
"$PY" -c "import torch; print('torch', torch.__version__, '|', torch.cuda.get_device_name(0), '| GPUs:', $NPROC)"

if [ ! -f "$SHARDS/manifest.json" ]; then
  SHARDS=runs/gpu-check-shards
  echo "no shards given or found: writing 50M random GPT-2 tokens to $SHARDS (synthetic)"
  "$PY" - "$SHARDS" <<'PYEOF'
import sys
import numpy as np
from gristmill.tokenize import write_shards
rng = np.random.default_rng(0)
docs = (rng.integers(0, 50256, 5000, dtype=np.int64) for _ in range(10_000))
write_shards(docs, sys.argv[1], {"name": "synthetic", "vocab_size": 50257, "eos_id": 50256},
             val_fraction=0.01)
PYEOF
fi

rm -rf "$RUN"
ARGS=(train --input "$SHARDS" --output "$RUN" --preset gpt2-small --pad-vocab-multiple 64
      --dtype bf16 --compile --batch-size "$BATCH" --grad-accum 1 --max-steps "$STEPS"
      --warmup-steps 10 --log-every 5 --eval-every 0 --eval-batches 1 --ckpt-every 0 --no-progress)
if [ "$NPROC" -gt 1 ]; then
  "$PY" -m torch.distributed.run --standalone --nproc_per_node="$NPROC" -m gristmill.cli "${ARGS[@]}"
else
  "$PY" -m gristmill.cli "${ARGS[@]}"
fi

# Steady state: median over the records after step 10 (the first ones include compilation).
"$PY" - "$RUN/metrics.jsonl" <<'PYEOF'
import json, statistics, sys
recs = [json.loads(line) for line in open(sys.argv[1])]
steady = [r for r in recs if r["step"] > 10] or recs
tps = statistics.median(r["tokens_per_s"] for r in steady)
gf = statistics.median(r["gflops_per_s"] for r in steady)
mfu = [r["mfu"] for r in steady if "mfu" in r]
print(f"gpt2-small bf16+compile: {tps:,.0f} tokens/s, {gf / 1000:.1f} TFLOP/s achieved, "
      + (f"MFU {statistics.median(mfu):.1%}" if mfu else "MFU n/a (GPU not in the peak table)")
      + f", final loss {recs[-1]['loss']:.3f}")
PYEOF
