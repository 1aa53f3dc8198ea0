"""The run directory a training run writes (rank 0): config.json, metrics.jsonl, the tokenizer.

``RUN_DIR/config.json`` records the settings, dtype, world size, device, data fingerprint and
tokenizer of the run; ``RUN_DIR/metrics.jsonl`` one JSON object per logged step; a trained
tokenizer is copied to ``RUN_DIR/tokenizer.json`` so ``sample`` and ``export-hf`` find it.
Checkpoints live in ``RUN_DIR/ckpt/`` (see checkpoint.py).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from gristmill.train import checkpoint as ck
from gristmill.train.metrics_sinks import MetricsSink, TensorBoardSink


class MetricsLog:
    """``RUN_DIR/metrics.jsonl``: one JSON object per logged step, rewritten on resume; each
    record then goes to the ``sinks`` too (TensorBoard, a user's logger: see metrics_sinks)."""

    def __init__(self, path: Path, resume_step: int | None, sinks: Sequence[MetricsSink] = ()):
        self.path = path
        self.sinks = list(sinks)
        kept: list[str] = []
        if resume_step is not None and path.exists():
            # Steps after the checkpoint are about to be recomputed: drop them so the file is the
            # run's one true curve.
            for line in path.read_text().splitlines():
                if line.strip() and json.loads(line)["step"] <= resume_step:
                    kept.append(line)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("".join(k + "\n" for k in kept))
        os.replace(tmp, path)
        self.f = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def write(self, record: dict) -> None:
        self.f.write(json.dumps(record) + "\n")
        self.f.flush()
        for sink in self.sinks:
            sink.write(record)

    def close(self) -> None:
        self.f.close()
        for sink in self.sinks:
            sink.close()


def prepare_run_dir(out: Path, info: ck.RunInfo, run_facts: dict, start_step: int,
                    tensorboard: bool, sinks: Sequence[MetricsSink]) -> MetricsLog:
    """Create ``out``, write ``config.json`` (``info.config``, then ``run_facts``: dtype, world
    size, device, data fingerprint, then the run's metadata), open ``metrics.jsonl`` (keeping
    the records up to ``start_step`` on resume), remove partial checkpoint writes of a killed
    run, and copy a trained tokenizer into the run."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps({**info.config, **run_facts, **info.meta},
                                                indent=2))
    run_sinks = [*sinks, TensorBoardSink(out, start_step)] if tensorboard else list(sinks)
    metrics_log = MetricsLog(out / "metrics.jsonl", start_step if start_step > 0 else None,
                             run_sinks)
    ck.remove_partial_writes(out)
    tok_path = info.meta["tokenizer"].get("path")
    if tok_path and Path(tok_path).is_file():
        shutil.copyfile(tok_path, out / "tokenizer.json")
    return metrics_log
