"""The process group: read torchrun's environment, NCCL on GPUs, gloo on CPU.

``torchrun --nproc_per_node=N -m gristmill.cli train ...`` sets WORLD_SIZE, RANK and LOCAL_RANK;
without them training runs in one process and nothing here creates a group.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class Dist:
    """This process's place in the run (rank 0 alone writes files and prints)."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    initialized_here: bool = False

    @property
    def master(self) -> bool:
        return self.rank == 0


def setup_distributed() -> tuple[Dist, torch.device]:
    """Read torchrun's environment; NCCL on GPUs, gloo on CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist(), torch.device("cuda" if torch.cuda.is_available() else "cpu")
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        device, backend = torch.device("cpu"), "gloo"
    created = not dist.is_initialized()
    if created:
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
    return Dist(rank, local, world, created), device
