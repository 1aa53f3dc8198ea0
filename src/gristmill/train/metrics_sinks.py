"""Where the trainer's metric records go besides ``metrics.jsonl``: the sink hook and TensorBoard.

A record is the dict the trainer writes as one line of ``RUN_DIR/metrics.jsonl`` (``step``,
``loss``, ``lr``, ``tokens_per_s``, ``gflops_per_s``, ``grad_norm``, ``mfu`` on known GPUs,
``val_loss`` and ``val_perplexity`` at evaluations, ...). ``metrics.jsonl`` stays the one source
of truth: a sink receives the same records, on rank 0 only, after they are written there, so a
logger (TensorBoard here; W&B or MLflow the same way) can never show a different curve.

TensorBoard: ``SummaryWriter(RUN_DIR/tensorboard, purge_step=S+1)`` where ``S`` is the step the
run starts from (0 when fresh). On resume, ``metrics.jsonl`` keeps the records up to the
checkpoint and the trainer recomputes the rest; the purge marker makes TensorBoard's readers drop
the events the killed process wrote after the checkpoint, so no step appears twice. Event files
are flushed after every record, so a kill loses nothing that ``metrics.jsonl`` kept. Scalars are
stored as TensorBoard's float32 ``simple_value`` (what every TensorBoard reader understands).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from gristmill.errors import UserError

TENSORBOARD_DIR = "tensorboard"
# metrics.jsonl key -> TensorBoard tag. Grouped so the dashboard shows training, validation and
# speed in separate sections; a key missing here (a newer metric) is shown under its own name.
TAGS = {
    "loss": "train/loss",
    "lr": "train/lr",
    "grad_norm": "train/grad_norm",
    "epoch": "train/epoch",
    "val_loss": "val/loss",
    "val_perplexity": "val/perplexity",
    "tokens_per_s": "perf/tokens_per_s",
    "gflops_per_s": "perf/gflops_per_s",
    "mfu": "perf/mfu",
}


class MetricsSink(Protocol):
    """Anything that takes the trainer's metric records (see the module docstring)."""

    def write(self, record: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


def tag_for(key: str) -> str:
    """The TensorBoard tag of a ``metrics.jsonl`` key."""
    return TAGS.get(key, key)


def require_tensorboard() -> None:
    """Fail before training starts (on every rank alike) when ``--tensorboard`` cannot work."""
    try:
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except ImportError as e:
        raise UserError(
            "--tensorboard needs the tensorboard package, which is not installed: "
            "pip install 'gristmill[train]' (or pip install tensorboard)"
        ) from e


class TensorBoardSink:
    """Every numeric field of each record as a scalar at the record's ``step``."""

    def __init__(self, run_dir: Path, start_step: int):
        require_tensorboard()
        from torch.utils.tensorboard import SummaryWriter

        # purge_step: events at steps > start_step from an earlier (killed) process are hidden
        # by every TensorBoard reader; the records before it stay, as in metrics.jsonl.
        self.writer = SummaryWriter(str(run_dir / TENSORBOARD_DIR), purge_step=start_step + 1)

    def write(self, record: dict[str, Any]) -> None:
        step = int(record["step"])
        for key, value in record.items():
            if key != "step" and isinstance(value, (int, float)) and not isinstance(value, bool):
                self.writer.add_scalar(tag_for(key), value, step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
