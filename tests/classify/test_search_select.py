"""The transfer recipe's choice by grouped cross-validation (``search.choose``, ``--select``):
folds of whole training groups, on real demo fortunes."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from transfer_util import family_rows

from gristmill.classify.config import ClassifierConfig, GroupConfig, RecipeConfig
from gristmill.classify.data import read_examples
from gristmill.classify.groupsplit import group_folds
from gristmill.classify.search import choose
from gristmill.classify.train import train_classifier
from gristmill.cli import main

VALID, TEST = ("limerick", "zippy"), ("gerrold.limerick", "startrek")
SMALL = ClassifierConfig(dim=16, bucket=20_000, epoch=5)


@pytest.fixture(scope="module")
def parts(demo_dir, tmp_path_factory):
    """The demo fortunes by family, the large ``fortunes`` family dealt into three groups
    (entry i to ``fortunes<i mod 3>``), so the training groups are fortunes0-2 and murphy."""
    path = tmp_path_factory.mktemp("parts") / "parts.jsonl"
    dealt = 0
    with open(path, "w", encoding="utf-8") as f:
        for r in family_rows(demo_dir):
            if r["family"] == "fortunes":
                r, dealt = {**r, "family": f"fortunes{dealt % 3}"}, dealt + 1
            f.write(json.dumps(r) + "\n")
    return path


def test_group_folds_hold_out_whole_groups_once_each_deterministically(parts):
    examples = read_examples([parts], group_field="family")
    folds = group_folds(examples, 4)
    assert folds == group_folds(examples, 4)  # deterministic
    assert len(folds) == 4
    held_ids = [e.id for _, held in folds for e in held]
    assert sorted(held_ids) == sorted(e.id for e in examples)  # every example held out exactly once
    for train, held in folds:
        assert {e.group for e in train}.isdisjoint({e.group for e in held})  # no group on both sides
        assert len(train) + len(held) == len(examples)
        assert [e.id for e in train] == [e.id for e in examples if e.group not in {h.group for h in held}]
    # three blocks for eight groups: whole groups, dealt largest first to the smallest block
    three = group_folds(examples, 3)
    blocks = [sorted({e.group for e in held}) for _, held in three]
    assert sorted(g for b in blocks for g in b) == sorted({e.group for e in examples})
    sizes = [len(held) for _, held in three]
    assert max(sizes) - min(sizes) <= max(Counter(e.group for e in examples).values())
    # one group, or none named: nothing to fold
    assert group_folds([e for e in examples if e.group == "murphy"], 4) == []
    assert group_folds(read_examples([parts]), 4) == []


def _row(valid, cv, se, default=False, eligible=True):
    return {"valid_f1": valid, "cv_f1": cv, "cv_se": se, "default": default, "eligible": eligible}


def test_choose_rules():
    rows = [_row(0.60, 0.58, 0.02, default=True), _row(0.61, 0.57, 0.02, default=True),
            _row(0.70, 0.59, 0.03), _row(0.65, 0.62, 0.01), _row(0.90, 0.95, 0.01, eligible=False)]
    assert choose(rows, "valid") == 2  # the best on the validation week; the ineligible one never
    assert choose(rows, "cv") == 3
    assert choose(rows, "cv-1se") == 3  # 0.62 - 0.01 > 0.58: the defaults are beaten beyond the noise
    rows[3] = _row(0.65, 0.60, 0.03)
    assert choose(rows, "cv") == 3 and choose(rows, "cv-1se") == 0  # within one SE: the defaults stay
    plain = [{"valid_f1": r["valid_f1"], "default": r["default"], "eligible": r["eligible"]} for r in rows]
    assert choose(plain, "cv") == choose(plain, "cv-1se") == choose(plain, "valid") == 2  # no folds


def test_cv_selection_scores_every_trial_on_folds_and_is_reproducible(parts, tmp_path, capsys):
    recipe = RecipeConfig("transfer", None, search_trials=3, max_cost=None, select="cv", folds=3)
    res = train_classifier([parts], tmp_path / "a.bin", SMALL, positive="offensive",
                           group=GroupConfig("family", VALID, TEST), recipe=recipe)
    s = res.metrics["search"]
    assert s["select"] == "cv" and len(s["fold_groups"]) == 3
    assert sorted(g for f in s["fold_groups"] for g in f) == res.metrics["split"]["groups"]["train"]
    for t in s["trials"]:
        assert len(t["fold_f1"]) == 3 and all(0.0 <= x <= 1.0 for x in t["fold_f1"])
        assert t["cv_f1"] == pytest.approx((t["valid_f1"] + sum(t["fold_f1"])) / 4, abs=2e-4)
    assert s["chosen"] == max(s["trials"], key=lambda t: t["cv_f1"])
    assert s["chosen"]["threshold"] == res.metrics["threshold"]  # threshold still on the validation groups
    assert "3 folds of held-out training groups" in res.card_path.read_text()
    # the same through the CLI, one thread and a fixed seed: the same trials, the same model
    rc = main(["classifier", "train", "--input", str(parts), "--output", str(tmp_path / "b.bin"),
               "--positive", "offensive", "--group-by", "family", "--valid-groups", ",".join(VALID),
               "--test-groups", ",".join(TEST), "--dim", "16", "--bucket", "20000", "--epoch", "5",
               "--search-trials", "3", "--max-cost", "0", "--select", "cv", "--search-folds", "3"])
    assert rc == 0, capsys.readouterr().err
    again = json.loads((tmp_path / "b.metrics.json").read_text())["search"]
    assert [t["fold_f1"] for t in again["trials"]] == [t["fold_f1"] for t in s["trials"]]
    assert (tmp_path / "b.bin").read_bytes() == res.model_path.read_bytes()


def test_one_se_rule_keeps_a_default_unless_clearly_beaten(parts, tmp_path):
    recipe = RecipeConfig("transfer", None, search_trials=4, max_cost=None, select="cv-1se", folds=3)
    res = train_classifier([parts], tmp_path / "c.bin", SMALL, positive="offensive",
                           group=GroupConfig("family", VALID, TEST), recipe=recipe)
    s = res.metrics["search"]
    best = max(s["trials"], key=lambda t: t["cv_f1"])
    defaults = [t for t in s["trials"] if t["default"]]
    assert len(defaults) == 2 and s["select"] == "cv-1se"
    near = [t for t in defaults if t["cv_f1"] >= best["cv_f1"] - best["cv_se"]]
    assert s["chosen"] == (max(near, key=lambda t: t["cv_f1"]) if near else best)


@pytest.mark.parametrize("select", ["valid", "cv"])
def test_a_winner_over_the_cost_limit_on_a_second_timing_gives_way(parts, tmp_path, select):
    """The chosen trial is timed again; a model that is really costlier than the limit (here
    character 2-6-grams at dimension 100 against the defaults) is marked ineligible and the
    next choice, at last the defaults, is taken."""
    from gristmill.classify.preprocess import preprocess
    from gristmill.classify.search import Trial, _confirm_cost, _train, cost_ratio

    examples = read_examples([parts], group_field="family")
    texts = [e.text for e in examples[:300]]
    cheap = Trial(5, 0.2, 1, 0, 0, 16, "softmax")
    dear = Trial(5, 0.2, 2, 2, 6, 100, "softmax")
    cfg = ClassifierConfig(bucket=20_000)
    files: dict = {}
    models = {i: (_train(files, str(tmp_path), -1, examples, t, cfg), t, 0.5) for i, t in enumerate((cheap, dear))}
    rows = [{**_row(0.6, 0.60, 0.01, default=True), "threshold": 0.5},
            {**_row(0.7, 0.70, 0.01), "threshold": 0.5}]
    _confirm_cost(rows, models, select, 1.1, (models[0][0], preprocess), texts, lambda t: None)
    assert rows[1]["eligible"] is False and rows[1]["cost_confirmed"] > 1.1
    assert choose(rows, select) == 0
    # the paired timing: a model against itself is about even, the dear one clearly dearer
    m = models[0][0]
    assert 0.7 < cost_ratio(m, preprocess, m, preprocess, texts) < 1.4
    assert cost_ratio(models[1][0], preprocess, m, preprocess, texts) > 1.3
