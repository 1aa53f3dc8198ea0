"""One training segment of an ablation model under torchrun (DDP):

    python -m torch.distributed.run --standalone --nproc_per_node=N \\
        -m gristmill.ablate.worker MODEL_DIR/.segment.json

``gristmill.ablate.training`` writes the job file (shards, model directory, model and training
settings, resume, stop_after) and launches this once per segment; every rank trains, rank 0
writes the checkpoint, and the ablation scores it in its own process afterwards.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from gristmill.train.config import GPTConfig, TrainConfig
    from gristmill.train.trainer import train

    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m gristmill.ablate.worker JOB.json", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")
    job = json.loads(Path(argv[0]).read_text())
    train(job["shards"], job["out"], GPTConfig(**job["model"]), TrainConfig(**job["train"]),
          resume=job["resume"], stop_after=job["stop_after"], verify=job["verify"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
