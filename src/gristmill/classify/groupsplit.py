"""Out-of-group splits (``classifier train --group-by FIELD``): hold whole groups out.

A random test split measures a classifier on the collection it learnt from; in a pipeline it
always meets another source, crawl or year. So with a group field (source, domain, a date
bucket) every group goes whole to one role:

- **train** groups: the model learns from them, less an *in-group* test split (near-duplicate
  groups drawn at random, stratified by label, as ``split.grouped_split`` does) that measures
  it on the kind of data it saw;
- **valid** groups: out of group; the threshold (and, with the transfer recipe, the
  hyper-parameters and the cleaning) are chosen on them;
- **test** groups: out of group and used for nothing else: the model card's estimate of how it
  will do on a group it has never seen.

Near-duplicates are grouped across the whole collection first (``split.resolve_components``).
A near-duplicate group with members in two roles keeps those of the first role (train, then
valid, then test) and drops the others, counted as ``cross_role_dropped``: the same spam
template posted in two weeks must not sit in training and in the test.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from gristmill.classify.data import Example
from gristmill.classify.split import SplitResult, resolve_components

ROLES = ("train", "valid", "test")


@dataclass
class GroupSplit:
    """``split.train`` is the training groups less ``test_in_group``; ``split.valid`` and
    ``split.test`` are out of group."""

    split: SplitResult
    test_in_group: list[Example]
    groups: dict[str, list[str]]  # role -> group names (sorted)
    cross_role_dropped: int
    group_sizes: dict[str, int] = field(default_factory=dict)  # group -> documents read


def choose_groups(
    sizes: dict[str, int],
    valid_groups: Sequence[str] = (),
    test_groups: Sequence[str] = (),
    valid_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 0,
) -> dict[str, list[str]]:
    """Each group's role: the named ones as given; otherwise drawn at random (seeded), whole
    groups, until each held-out role has at least its fraction of the documents."""
    known = sorted(sizes)
    for flag, names in (("--valid-groups", valid_groups), ("--test-groups", test_groups)):
        unknown = [g for g in names if g not in sizes]
        if unknown:
            shown = ", ".join(known[:20]) + (f" and {len(known) - 20} more" if len(known) > 20 else "")
            raise ValueError(f"{flag}: no group {', '.join(map(repr, unknown))} in the data (groups: {shown})")
    both = sorted(set(valid_groups) & set(test_groups))
    if both:
        raise ValueError(f"group(s) {', '.join(both)} named both in --valid-groups and --test-groups")
    roles = {"valid": sorted(set(valid_groups)), "test": sorted(set(test_groups))}
    free = [g for g in known if g not in roles["valid"] and g not in roles["test"]]
    need = [r for r in ("test", "valid") if not roles[r]]
    if need and len(free) < len(need) + 1:
        raise ValueError(f"--group-by: whole groups are held out for {' and '.join(need)} and at least one "
                         f"is left for training, so {len(need) + 1} groups are needed besides those named; "
                         f"the data has {len(known)} ({', '.join(known[:20])})")
    total = sum(sizes.values())
    order = [free[i] for i in np.random.default_rng(seed).permutation(len(free))]
    for i, role in enumerate(need):
        reserve = len(need) - i  # one group for each later role and one for training
        goal = (test_fraction if role == "test" else valid_fraction) * total
        while len(order) > reserve and (not roles[role] or sum(sizes[g] for g in roles[role]) < goal):
            roles[role].append(order.pop(0))
        roles[role].sort()
    roles["train"] = sorted(order)
    if not roles["train"]:
        raise ValueError("every group is held out: leave at least one group for training")
    return {r: roles[r] for r in ROLES}


def group_holdout_split(
    examples: list[Example],
    valid_groups: Sequence[str] = (),
    test_groups: Sequence[str] = (),
    valid_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 0,
    threshold: float = 0.7,
    conflicts: str = "majority",
) -> GroupSplit:
    """Split by group (``Example.group``) as the module docstring says; ``test_fraction`` is
    also the share of the training groups kept for the in-group test."""
    if not (0 < valid_fraction < 1 and 0 < test_fraction < 1):
        raise ValueError(f"bad split fractions valid={valid_fraction} test={test_fraction}")
    sizes = Counter(e.group for e in examples)
    if None in sizes:
        raise ValueError("group_holdout_split needs every example's group (read with group_field)")
    roles = choose_groups(dict(sizes), valid_groups, test_groups, valid_fraction, test_fraction, seed)
    role_of = {g: r for r, names in roles.items() for g in names}
    rank = {r: i for i, r in enumerate(ROLES)}

    components, stats = resolve_components(examples, threshold, conflicts)
    by_role: dict[str, list[list[Example]]] = {r: [] for r in ROLES}
    dropped = 0
    for comp in components:
        first = min((role_of[e.group] for e in comp), key=rank.__getitem__)  # type: ignore[index]
        kept = [e for e in comp if role_of[e.group] == first]  # type: ignore[index]
        dropped += len(comp) - len(kept)
        by_role[first].append(kept)

    rng = np.random.default_rng(seed)
    train, test_in = _hold_out(by_role["train"], test_fraction, rng)
    out = {"train": train, "valid": [e for c in by_role["valid"] for e in c],
           "test": [e for c in by_role["test"] for e in c], "test_in_group": test_in}
    for k in out:  # fastText reads in order: never a file sorted by group or label
        out[k] = [out[k][i] for i in rng.permutation(len(out[k]))]
    split = SplitResult(train=out["train"], valid=out["valid"], test=out["test"], **stats)
    return GroupSplit(split, out["test_in_group"], roles, dropped, dict(sorted(sizes.items())))  # type: ignore[arg-type]


def _hold_out(components: list[list[Example]], fraction: float,
              rng: np.random.Generator) -> tuple[list[Example], list[Example]]:
    """(kept, held out): whole near-duplicate groups, about ``fraction`` of each label."""
    by_label: dict[str, list[list[Example]]] = {}
    for comp in components:
        by_label.setdefault(comp[0].label, []).append(comp)
    kept: list[Example] = []
    held: list[Example] = []
    for label in sorted(by_label):
        comps = by_label[label]
        cut = fraction * sum(len(c) for c in comps)
        seen = 0
        for k in rng.permutation(len(comps)):
            (held if seen < cut else kept).extend(comps[k])
            seen += len(comps[k])
    return kept, held


def group_folds(examples: list[Example], blocks: int) -> list[tuple[list[Example], list[Example]]]:
    """(train, held out) pairs for choosing a recipe by grouped cross-validation: the groups
    of ``examples`` (the training groups) dealt into at most ``blocks`` blocks of whole groups,
    each block held out once while the rest trains.

    Why whole groups: one validation week scores each trial on a few hundred texts, and the
    best of many trials there is partly the luck of that week; more out-of-group folds average
    that luck away, but only if no group sits on both sides of a fold. Deterministic: groups
    are dealt by size (largest first, then by name) to the block with the fewest documents
    (the first such block on a tie), so the blocks are about even. Examples keep their order
    within each side. Fewer than two groups (or any example without a group): no folds."""
    sizes = Counter(e.group for e in examples)
    if None in sizes or len(sizes) < 2 or blocks < 2:
        return []
    n = min(blocks, len(sizes))
    totals = [0] * n
    block_of: dict[str, int] = {}
    for g in sorted(sizes, key=lambda g: (-sizes[g], g)):  # type: ignore[arg-type]
        b = min(range(n), key=lambda i: (totals[i], i))
        block_of[g] = b  # type: ignore[index]
        totals[b] += sizes[g]
    return [([e for e in examples if block_of[e.group] != b],  # type: ignore[index]
             [e for e in examples if block_of[e.group] == b])  # type: ignore[index]
            for b in range(n)]
