"""Windows sampled without replacement per epoch, strided across ranks; a fixed validation set."""

from __future__ import annotations

import numpy as np
import pytest

from gristmill.tokenize import open_shards
from gristmill.train.data import NotEnoughTokens, TokenWindows, WindowSampler, validation_ids


def _arrays():
    # Three "shards" whose tokens are their own global positions, so windows are easy to check.
    sizes = [101, 57, 230]
    starts = np.cumsum([0, *sizes])
    return [np.arange(s, s + n, dtype=np.uint16) for s, n in zip(starts, sizes, strict=False)]


def test_windows_cover_every_target_once_and_never_cross_shards():
    w = TokenWindows(_arrays(), block_size=10)
    assert w.num_windows == 10 + 5 + 22
    got = w.gather(np.arange(w.num_windows))
    assert got.dtype == np.int64 and got.shape == (37, 11)
    assert (np.diff(got, axis=1) == 1).all()  # contiguous: no window spans two shards
    targets = got[:, 1:].ravel()
    assert len(np.unique(targets)) == targets.size  # no target token twice


def test_epoch_is_a_permutation_and_epochs_differ():
    w = TokenWindows(_arrays(), block_size=10)
    s = WindowSampler(w, batch_size=4, seed=3)
    assert s.batches_per_epoch == 9  # 37 windows, tail of 1 dropped
    epoch0 = np.concatenate([s.batch_ids(g) for g in range(9)])
    epoch1 = np.concatenate([s.batch_ids(g) for g in range(9, 18)])
    assert len(set(epoch0.tolist())) == 36 and len(set(epoch1.tolist())) == 36
    assert not np.array_equal(epoch0, epoch1)
    again = WindowSampler(w, batch_size=4, seed=3)
    assert np.array_equal(np.concatenate([again.batch_ids(g) for g in range(9)]), epoch0)
    other = WindowSampler(w, batch_size=4, seed=4)
    assert not np.array_equal(np.concatenate([other.batch_ids(g) for g in range(9)]), epoch0)


def test_ranks_take_disjoint_strided_batches_of_the_same_stream():
    w = TokenWindows(_arrays(), block_size=10)
    single = WindowSampler(w, batch_size=4, seed=0)
    ranks = [WindowSampler(w, batch_size=4, seed=0, rank=r, world_size=2) for r in (0, 1)]
    for k in range(4):
        for r in (0, 1):
            x, y = ranks[r].get(k)
            want_x, want_y = single.get(2 * k + r)
            assert np.array_equal(x.numpy(), want_x.numpy())
            assert np.array_equal(y.numpy(), want_y.numpy())
            assert np.array_equal(x[:, 1:].numpy(), y[:, :-1].numpy())  # targets shifted by one
    seen = [set(ranks[r].batch_ids(k * 2 + r).tolist()) for r in (0, 1) for k in range(4)]
    assert len(set().union(*seen)) == sum(len(s) for s in seen)


def test_validation_set_is_fixed_and_spread():
    w = TokenWindows(_arrays(), block_size=10)
    ids = validation_ids(w, 5)
    assert ids.tolist() == [0, 9, 18, 27, 36]
    assert validation_ids(w, 100).tolist() == list(range(37))


def test_too_little_data_is_a_clear_error():
    w = TokenWindows([np.arange(30, dtype=np.uint16)], block_size=10)
    with pytest.raises(NotEnoughTokens, match="lower --batch-size or --block-size"):
        WindowSampler(w, batch_size=8, seed=0)
    with pytest.raises(NotEnoughTokens, match="validation"):
        validation_ids(TokenWindows([], 10, "validation"), 4)


def test_reads_real_gpt2_demo_shards(gpt2_shards, gpt2_tokenizer):
    shards = open_shards(gpt2_shards)
    w = TokenWindows(shards.arrays("train"), block_size=64)
    assert w.num_windows > 100
    x, y = WindowSampler(w, batch_size=2, seed=0).get(0)
    text = gpt2_tokenizer.decode(x[0].tolist())
    assert len(text) > 100 and gpt2_tokenizer.encode(text)[:5] == x[0, :5].tolist()
