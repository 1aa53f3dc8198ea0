"""Training windows from token shards: every window once per epoch, in a seeded order.

Every token is a target exactly once per epoch, and a resumed run reproduces the stream. The
train split is cut into windows of ``block_size + 1`` tokens (input and shifted target) that start every ``block_size``
tokens, so every token is a target exactly once per epoch. Windows never cross a shard boundary.

The order is a permutation seeded by ``(seed, epoch)``, cut into micro-batches of
``batch_size`` windows. Global micro-batch ``g`` is the ``g % per_epoch``-th batch of epoch
``g // per_epoch``; in a DDP run, rank ``r`` of ``W`` takes micro-batches ``g = k*W + r`` (strided
across ranks). The whole state is one integer, the global micro-batch counter, so a checkpoint
stores it and a resumed run reads exactly the windows it would have read, even at a different
world size (the global stream does not depend on W).

The validation set is fixed: ``n`` windows evenly spaced over the validation split, the same
for every evaluation and every run.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from gristmill.errors import UserError


class NotEnoughTokens(UserError, ValueError):
    """The split is too small for one batch; the message says what to change."""


class TokenWindows:
    """Index of the ``block_size + 1``-token windows over a list of 1-D token arrays."""

    def __init__(self, arrays: Sequence[np.ndarray], block_size: int, split: str = "train"):
        self.arrays = list(arrays)
        self.block_size = block_size
        self.split = split
        # Window j of shard s starts at j * block_size and needs block_size + 1 tokens.
        counts = np.array([max(0, (len(a) - 1) // block_size) for a in self.arrays], dtype=np.int64)
        self.shard_start = np.concatenate([[0], np.cumsum(counts)])  # first global window per shard
        self.num_windows = int(self.shard_start[-1])
        self.num_tokens = int(sum(len(a) for a in self.arrays))

    def gather(self, window_ids: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Copy the given windows into a (len(ids), block_size + 1) int64 array."""
        T1 = self.block_size + 1
        if out is None:
            out = np.empty((len(window_ids), T1), dtype=np.int64)
        shard = np.searchsorted(self.shard_start, window_ids, side="right") - 1
        offset = (window_ids - self.shard_start[shard]) * self.block_size
        for row, (s, o) in enumerate(zip(shard.tolist(), offset.tolist(), strict=True)):
            out[row] = self.arrays[s][o : o + T1]  # memory-mapped slice, one copy into out
        return out


class WindowSampler:
    """The micro-batch stream of one rank: without replacement per epoch, strided across ranks."""

    def __init__(self, windows: TokenWindows, batch_size: int, seed: int, rank: int = 0,
                 world_size: int = 1):
        if windows.num_windows < batch_size:
            raise NotEnoughTokens(
                f"the {windows.split} split has {windows.num_tokens} tokens = "
                f"{windows.num_windows} windows of {windows.block_size + 1}, fewer than one batch "
                f"of {batch_size}; lower --batch-size or --block-size, or tokenize more text"
            )
        self.windows = windows
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.batches_per_epoch = windows.num_windows // batch_size  # the tail is dropped
        self._perm_epoch = -1
        self._perm: np.ndarray | None = None
        self._buf = np.empty((batch_size, windows.block_size + 1), dtype=np.int64)

    def permutation(self, epoch: int) -> np.ndarray:
        if epoch != self._perm_epoch:
            rng = np.random.default_rng([self.seed, epoch])
            self._perm = rng.permutation(self.windows.num_windows)
            self._perm_epoch = epoch
        assert self._perm is not None
        return self._perm

    def batch_ids(self, g: int) -> np.ndarray:
        """Window ids of global micro-batch ``g``."""
        epoch, b = divmod(g, self.batches_per_epoch)
        return self.permutation(epoch)[b * self.batch_size : (b + 1) * self.batch_size]

    def get(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """This rank's ``k``-th micro-batch overall: (inputs, targets), each (B, block_size)."""
        g = k * self.world_size + self.rank
        w = torch.from_numpy(self.windows.gather(self.batch_ids(g), self._buf))
        return w[:, :-1], w[:, 1:]

    def epoch_of(self, k: int) -> float:
        """Fractional epoch reached after this rank's ``k`` micro-batches (for logging)."""
        return k * self.world_size / self.batches_per_epoch


def validation_ids(windows: TokenWindows, n: int) -> np.ndarray:
    """``n`` window ids spread evenly over the split (all of them if it has fewer)."""
    if windows.num_windows == 0:
        raise NotEnoughTokens(
            f"the validation split has {windows.num_tokens} tokens, fewer than one window of "
            f"{windows.block_size + 1}; tokenize with a larger val_fraction or lower --block-size"
        )
    n = min(n, windows.num_windows)
    return np.unique(np.linspace(0, windows.num_windows - 1, n).round().astype(np.int64))
