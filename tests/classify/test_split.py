"""Leak-free splits on real data: no near-duplicate pair crosses the train/test boundary."""

from __future__ import annotations

from collections import Counter

from gristmill.classify.data import Example, read_examples
from gristmill.classify.split import grouped_split, near_duplicate_groups, shingles


def _jaccard(a: str, b: str) -> float:
    x, y = shingles(a), shingles(b)
    return len(x & y) / len(x | y)


def test_real_sms_near_duplicates_never_cross_splits(demo_dir):
    ex = read_examples([demo_dir / "corpus" / "sms_spam.jsonl"])[:2000]
    res = grouped_split(ex, valid_fraction=0.15, test_fraction=0.15, seed=3)
    assert res.grouped_docs > 100  # the SMS collection really is full of near-copies
    sizes = res.sizes()
    assert sum(sizes.values()) == len(ex) - res.dropped
    assert 0.11 < sizes["test"] / len(ex) < 0.19
    # label balance follows the data in every split
    share = Counter(e.label for e in ex)["spam"] / len(ex)
    for part in (res.train, res.test):
        assert abs(Counter(e.label for e in part)["spam"] / len(part) - share) < 0.03
    # exhaustive check between test and train (what a random split would leak)
    train_sets = [shingles(e.text) for e in res.train]
    for e in res.test:
        s = shingles(e.text)
        assert all(len(s & t) < 0.7 * len(s | t) for t in train_sets), e.id


def test_grouping_is_transitive_and_verified(demo_dir):
    ex = read_examples([demo_dir / "corpus" / "sms_spam.jsonl"])[:1500]
    texts = [e.text for e in ex]
    gid = near_duplicate_groups(texts)
    groups: dict[int, list[int]] = {}
    for i, g in enumerate(gid):
        groups.setdefault(g, []).append(i)
    multi = [m for m in groups.values() if len(m) > 1]
    assert multi
    for m in multi:  # every member is close to some other member (verified, not just LSH)
        for i in m:
            assert max(_jaccard(texts[i], texts[j]) for j in m if j != i) >= 0.7


def test_label_conflicts_resolved_per_group():
    text = "Congratulations you have won a prize call now to claim it before midnight"
    ex = [Example("a", text, "spam"), Example("b", text + "!", "spam"), Example("c", text, "ham"),
          Example("d", "tie one here and there and everywhere", "ham"),
          Example("e", "tie one here and there and everywhere", "spam")]
    ex += [Example(f"x{i}", f"unrelated message number {i} about lunch plans {i * 7}", "ham")
           for i in range(30)]
    res = grouped_split(ex, 0.2, 0.2, seed=0)
    got = {e.id: e.label for e in res.train + res.valid + res.test}
    assert got["a"] == got["b"] == got["c"] == "spam"  # majority wins for the whole group
    assert "d" not in got and "e" not in got  # a tie cannot be resolved: dropped
    assert (res.conflicting_groups, res.relabelled, res.dropped) == (2, 1, 2)
    res = grouped_split(ex, 0.2, 0.2, seed=0, conflicts="drop")
    assert res.dropped == 5
