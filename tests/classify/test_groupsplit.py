"""Out-of-group splits: whole groups per role, no group and no near-duplicate across roles."""

from __future__ import annotations

import pytest
from transfer_util import write_family_jsonl

from gristmill.classify.data import Example, read_examples
from gristmill.classify.groupsplit import choose_groups, group_holdout_split


@pytest.fixture(scope="module")
def family_examples(demo_dir, tmp_path_factory) -> list[Example]:
    path = write_family_jsonl(demo_dir, tmp_path_factory.mktemp("fam") / "families.jsonl")
    return read_examples([path], group_field="family")


def _groups(examples: list[Example]) -> set[str]:
    return {e.group for e in examples}  # type: ignore[misc]


def test_named_groups_never_leak(family_examples):
    gs = group_holdout_split(family_examples, ["limerick", "zippy"], ["gerrold.limerick", "startrek"])
    s = gs.split
    assert gs.groups == {"train": ["fortunes", "murphy"], "valid": ["limerick", "zippy"],
                         "test": ["gerrold.limerick", "startrek"]}
    assert _groups(s.valid) == {"limerick", "zippy"} and _groups(s.test) == {"gerrold.limerick", "startrek"}
    assert _groups(s.train) == _groups(gs.test_in_group) == {"fortunes", "murphy"}
    ids = [{e.id for e in part} for part in (s.train, s.valid, s.test, gs.test_in_group)]
    assert sum(map(len, ids)) == len(set().union(*ids))  # each document in one role only
    # every document is accounted for: kept in a role, dropped as a cross-role near-duplicate,
    # or dropped by the label-conflict rule
    kept = sum(map(len, ids))
    assert kept + gs.cross_role_dropped + s.dropped == len(family_examples)
    assert 0.05 < len(gs.test_in_group) / (len(s.train) + len(gs.test_in_group)) < 0.2


def test_near_duplicates_across_roles_stay_in_training(family_examples):
    """The same joke filed in a training family and in a held-out one is dropped from the
    held-out role, so the out-of-group test measures nothing the model memorised."""
    copy = next(e for e in family_examples if e.group == "fortunes")
    planted = [*family_examples, Example("planted", copy.text, copy.label, "startrek")]
    gs = group_holdout_split(planted, ["limerick", "zippy"], ["gerrold.limerick", "startrek"])
    assert "planted" not in {e.id for e in gs.split.test}
    base = group_holdout_split(family_examples, ["limerick", "zippy"], ["gerrold.limerick", "startrek"])
    assert gs.cross_role_dropped == base.cross_role_dropped + 1


def test_random_groups_are_whole_seeded_and_leave_training():
    sizes = {"a": 50, "b": 30, "c": 10, "d": 10, "e": 5}
    one = choose_groups(sizes, valid_fraction=0.2, test_fraction=0.2, seed=3)
    assert one == choose_groups(sizes, valid_fraction=0.2, test_fraction=0.2, seed=3)
    assert sorted(one["train"] + one["valid"] + one["test"]) == sorted(sizes)
    assert one["train"] and one["valid"] and one["test"]
    assert sum(sizes[g] for g in one["test"]) >= 20 or len(one["train"]) == 1
    fixed = choose_groups(sizes, test_groups=["e"], seed=3)  # the other role is drawn
    assert fixed["test"] == ["e"] and fixed["valid"] and "e" not in fixed["train"]


@pytest.mark.parametrize("kwargs, message", [
    ({"valid_groups": ["nope"]}, "--valid-groups: no group 'nope' in the data"),
    ({"valid_groups": ["a"], "test_groups": ["a"]}, "named both in --valid-groups and --test-groups"),
])
def test_bad_group_names_are_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        choose_groups({"a": 1, "b": 1, "c": 1}, **kwargs)


def test_too_few_groups_is_an_error():
    with pytest.raises(ValueError, match="3 groups are needed"):
        choose_groups({"a": 5, "b": 5})
