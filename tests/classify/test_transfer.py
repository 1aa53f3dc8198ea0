"""`classifier train --group-by` and the transfer recipe on real fortunes; `eval --test`."""

from __future__ import annotations

import json

import pytest
from transfer_util import write_family_jsonl

from gristmill.classify.config import ClassifierConfig, GroupConfig, RecipeConfig
from gristmill.classify.evaluate import evaluate_sets
from gristmill.classify.train import train_classifier
from gristmill.cli import main

VALID, TEST = ("limerick", "zippy"), ("gerrold.limerick", "startrek")
SMALL = ClassifierConfig(dim=16, bucket=20_000, epoch=5)


@pytest.fixture(scope="module")
def families(demo_dir, tmp_path_factory):
    return write_family_jsonl(demo_dir, tmp_path_factory.mktemp("fam") / "families.jsonl")


@pytest.fixture(scope="module")
def grouped(families, tmp_path_factory):
    """The plain recipe, out of group: fortunes and murphy train; limericks are held out."""
    out = tmp_path_factory.mktemp("grouped") / "offensive.bin"
    return train_classifier([families], out, SMALL, positive="offensive",
                            group=GroupConfig("family", VALID, TEST))


def test_metrics_keep_in_group_and_out_of_group_apart(grouped, families):
    m = grouped.metrics
    sp = m["split"]
    assert sp["group_by"] == "family" and sp["groups"]["test"] == list(TEST) and sp["groups_chosen"] == "given"
    rows = [json.loads(line) for line in families.read_text().splitlines()]
    in_test_groups = sum(r["family"] in TEST for r in rows)
    assert sp["sizes"]["test"] <= in_test_groups and m["test"]["n"] == sp["sizes"]["test"]
    assert m["test_in_group"]["n"] == sp["sizes"]["test_in_group"] > 0
    f1 = m["transfer"]["f1"]
    assert f1["in_group"] == m["test_in_group"]["f1"] and f1["out_of_group"] == m["test"]["f1"]
    assert f1["drop"] == pytest.approx(f1["in_group"] - f1["out_of_group"])
    assert m["threshold_rule"].endswith("on the validation groups (out of group)")
    assert 0.0 <= m["test"]["calibration"]["ece"] <= 1.0


def test_card_shows_in_group_out_of_group_drop_and_the_reliability_plot(grouped):
    m = grouped.metrics
    card = grouped.card_path.read_text()
    f1 = m["transfer"]["f1"]
    assert "## In group vs out of group" in card
    assert f"| F1 | {f1['in_group']:.3f} | {f1['out_of_group']:.3f} | {f1['drop']:.3f} |" in card
    assert "Training groups: `fortunes`, `murphy`" in card and "test groups (used for nothing else)" in card
    assert f"{m['test']['calibration']['ece']:.3f}" in card
    lo, hi = m["test"]["f1_interval_90"]
    assert lo <= f1["out_of_group"] <= hi and f"90% bootstrap interval {lo:.3f}-{hi:.3f}" in card
    png = grouped.model_path.with_suffix(".reliability.png")
    assert m["reliability_plot"] == png.name and f"![reliability plot]({png.name})" in card
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_transfer_recipe_logs_its_search_and_ships_its_cleaning(families, tmp_path):
    res = train_classifier([families], tmp_path / "t.bin", SMALL, positive="offensive",
                           group=GroupConfig("family", VALID, TEST),
                           recipe=RecipeConfig("transfer", ("urls", "numbers"), search_trials=3, max_cost=None))
    m = res.metrics
    s = m["search"]
    assert m["recipe"] == "transfer" and s["trials_run"] == 3 and s["stopped_by"] == "trials"
    assert max(t["valid_f1"] for t in s["trials"]) == s["chosen"]["valid_f1"]
    assert m["preprocess_name"] == "gristmill+urls+numbers" and m["clean"] == ["urls", "numbers"]
    card = res.card_path.read_text()
    assert "preprocess: gristmill+urls+numbers" in card and "Transfer recipe:" in card
    # evaluation applies the model's own preprocessing, read from its metrics JSON
    ev = evaluate_sets(res.model_path, {"out": [families]})
    assert ev["preprocess"] == "gristmill+urls+numbers" and ev["threshold"] == m["threshold"]


def test_eval_keeps_each_named_test_set(grouped, families, tmp_path, capsys):
    rows = [json.loads(line) for line in families.read_text().splitlines()]
    paths = {}
    for fam in ("limerick", "murphy"):
        paths[fam] = tmp_path / f"{fam}.jsonl"
        paths[fam].write_text("".join(json.dumps(r) + "\n" for r in rows if r["family"] == fam))
    out = tmp_path / "eval.json"
    rc = main(["classifier", "eval", "--model", str(grouped.model_path), "--test", f"limerick={paths['limerick']}",
               "--test", f"murphy={paths['murphy']}", "--output", str(out)])
    assert rc == 0
    res = json.loads(out.read_text())
    assert res == json.loads(capsys.readouterr().out)
    assert list(res["sets"]) == ["limerick", "murphy"] and res["threshold"] == grouped.metrics["threshold"]
    n = {fam: sum(r["family"] == fam for r in rows) for fam in paths}
    for fam, m in res["sets"].items():
        assert m["n"] == n[fam] and m["data"] == [str(paths[fam])] and "ece" in m["calibration"]
    # all limericks are offensive: recall is the share flagged; murphy is nearly all clean
    assert res["sets"]["limerick"]["labels"]["offensive"]["support"] == n["limerick"]


@pytest.mark.parametrize("args, message", [
    (["train", "--output", "x.bin", "--valid-groups", "a"], "--valid-groups and --test-groups need --group-by"),
    (["train", "--output", "x.bin", "--group-by", "family", "--valid-groups", "nope"],
     "--valid-groups: no group 'nope' in the data"),
    (["train", "--output", "x.bin", "--group-by", "colour"], "no field 'colour'"),
    (["train", "--output", "x.bin", "--group-by", "family", "--clean", "colour"], "unknown cleaning option"),
    (["train", "--output", "x.bin", "--group-by", "family", "--valid-groups", "fortunes,murphy,zippy",
      "--test-groups", "startrek"], "the training split (groups gerrold.limerick, limerick) has "),
    (["eval", "--model", "x.bin"], "needs --input FILE or at least one --test NAME=FILE"),
    (["eval", "--model", "x.bin", "--test", "nofile"], "expected NAME=FILE"),
])
def test_cli_errors_are_one_line_exit_2(families, tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    if args[0] == "train":
        args = [*args, "--input", str(families)]
    rc = main(["classifier", *args])
    err = capsys.readouterr().err
    assert rc == 2 and message in err, err
    assert err.count("\n") == 1 and err.startswith("gristmill: error: ")


def test_the_cards_config_snippet_runs_in_the_filter_with_the_models_cleaning(families, tmp_path):
    """The fasttext filter resolves ``preprocess: gristmill+urls+numbers`` and scores exactly
    what training and evaluation scored."""
    from gristmill.classify.model import label_probs, load_model
    from gristmill.classify.preprocess import PREPROCESSORS
    from gristmill.filters.fasttext_filter import FastTextFilter

    res = train_classifier([families], tmp_path / "c.bin", SMALL, positive="offensive",
                           recipe=RecipeConfig("plain", ("urls", "numbers")))
    assert "preprocess: gristmill+urls+numbers" in res.card_path.read_text()
    f = FastTextFilter(model=str(res.model_path), remove=["offensive"], threshold=res.metrics["threshold"],
                       preprocess="gristmill+urls+numbers")
    text = "There once was a man from http://nantucket.example who counted to 1,000"
    want = label_probs(load_model(res.model_path), PREPROCESSORS["gristmill+urls+numbers"](text))["offensive"]
    assert f.score(text) == [want]
    with pytest.raises(ValueError, match="preprocess must be one of"):
        FastTextFilter(model=str(res.model_path), remove=["offensive"], preprocess="gristmill+colour")


def test_trial_sequence_starts_from_the_defaults_and_is_seeded():
    from gristmill.classify.search import ALL_CLEAN, CHEAP_CHAR, SPACE, trial_sequence

    cfg = ClassifierConfig()
    seq = trial_sequence(cfg, 10, seed=4)
    first, second = seq[:2]
    assert (first.epoch, first.lr, first.wordNgrams, first.dim, first.clean) == (10, 0.2, 2, 50, ())
    assert second.clean == ALL_CLEAN and second.fasttext_args() == first.fasttext_args()
    # then the same two with character 4-grams at dimension 10 (CHEAP_CHAR), then the draws
    for plain, char in zip(seq[:2], seq[2:4], strict=True):
        assert char.fasttext_args() == {**plain.fasttext_args(), **CHEAP_CHAR} and char.clean == plain.clean
    assert seq == trial_sequence(cfg, 10, seed=4) and seq != trial_sequence(cfg, 10, seed=5)
    assert len(set(seq)) == 10 and all(t.dim in SPACE["dim"] for t in seq[4:])
    fixed = trial_sequence(cfg, 5, seed=4, clean=("urls",))
    assert {t.clean for t in fixed} == {("urls",)} and fixed[0].epoch == cfg.epoch
    assert (fixed[1].minn, fixed[1].maxn, fixed[1].dim) == (4, 4, 10)
    # a config that already uses CHEAP_CHAR's settings is not tried twice
    cheap = trial_sequence(ClassifierConfig(minn=4, maxn=4, dim=10), 6, seed=4)
    assert len(set(cheap)) == 6 and cheap[:2] == [t for t in cheap if t.fasttext_args() == cheap[0].fasttext_args()]


def test_eval_unlabeled_estimates_the_share_and_the_f1_there(grouped, families, tmp_path, capsys):
    """The model's own out-of-group test documents, read without their labels: adjusted
    classify-and-count gives back their share of positives and the F1 the card reports (the
    rates were measured on exactly these documents); murphy gets an estimate from the same
    rates. An older metrics JSON without the ``prevalence`` block gives the same rates (from
    the confusion matrix)."""
    import shutil

    from gristmill.classify.data import read_examples
    from gristmill.classify.groupsplit import group_holdout_split
    from gristmill.classify.metrics import at_prevalence

    m = grouped.metrics
    gs = group_holdout_split(read_examples([families], group_field="family"), VALID, TEST)
    assert len(gs.split.test) == m["test"]["n"]
    own = tmp_path / "test_groups.jsonl"
    own.write_text("".join(json.dumps({"text": e.text}) + "\n" for e in gs.split.test))
    murphy = tmp_path / "murphy.jsonl"  # labelled: the labels are ignored
    murphy.write_text("".join(line + "\n" for line in families.read_text().splitlines()
                              if json.loads(line)["family"] == "murphy"))
    out = tmp_path / "eval.json"
    rc = main(["classifier", "eval", "--model", str(grouped.model_path), "--unlabeled", f"own={own}",
               "--unlabeled", f"murphy={murphy}", "--output", str(out)])
    assert rc == 0
    res = json.loads(out.read_text())
    assert res == json.loads(capsys.readouterr().out) and res["sets"] == {}
    pv = m["test"]["prevalence"]
    est = res["unlabeled"]["own"]
    assert (est["tpr"], est["fpr"], est["n"]) == (pv["tpr"], pv["fpr"], m["test"]["n"])
    assert est["estimated_share"] == pytest.approx(pv["share"])
    assert est["expected"]["f1"] == pytest.approx(m["test"]["f1"])
    assert est["expected"]["precision"] == pytest.approx(m["test"]["precision"])
    assert est["interval_90"]["f1"][0] <= est["expected"]["f1"] <= est["interval_90"]["f1"][1]
    assert (pv["n_pos"], pv["n_neg"]) == (round(pv["share"] * m["test"]["n"]), m["test"]["n"] - pv["n_pos"])
    mu = res["unlabeled"]["murphy"]
    q = mu["predicted_positive_rate"]
    want = min(1.0, max(0.0, (q - pv["fpr"]) / (pv["tpr"] - pv["fpr"])))
    assert mu["estimated_share"] == pytest.approx(want) and mu["n"] == 120
    assert mu["expected"] == pytest.approx(at_prevalence(pv["tpr"], pv["fpr"], want))
    assert "warning" not in est
    assert ("warning" in mu) == (not pv["fpr"] < q < pv["tpr"])
    # a metrics JSON written before the prevalence block: the rates come from the confusion matrix
    old = tmp_path / "old"
    old.mkdir()
    shutil.copy(grouped.model_path, old / "m.bin")
    meta = json.loads(grouped.metrics_path.read_text())
    del meta["test"]["prevalence"]
    (old / "m.metrics.json").write_text(json.dumps(meta))
    assert main(["classifier", "eval", "--model", str(old / "m.bin"), "--unlabeled", f"own={own}"]) == 0
    again = json.loads(capsys.readouterr().out)["unlabeled"]["own"]
    assert again["tpr"] == pytest.approx(pv["tpr"]) and again["fpr"] == pytest.approx(pv["fpr"])
    # another decision rule than the shipped one: the recorded rates do not apply
    rc = main(["classifier", "eval", "--model", str(grouped.model_path), "--unlabeled", f"own={own}",
               "--threshold", "0.01"])
    err = capsys.readouterr().err
    assert rc == 2 and "leave out --positive/--threshold" in err and err.count("\n") == 1


def test_unlabeled_estimate_warns_when_the_share_clips():
    """A flag rate below the test FPR (or above the TPR) has no share of positives behind it
    at those error rates: the estimate clips and says it cannot be trusted."""
    from gristmill.classify.evaluate import unlabeled_estimate

    inside = unlabeled_estimate(0.30, tpr=0.66, fpr=0.12)
    assert "warning" not in inside and inside["estimated_share"] == pytest.approx(0.18 / 0.54)
    low = unlabeled_estimate(0.05, tpr=0.66, fpr=0.12)
    assert low["estimated_share"] == 0.0 and "at most its test FPR (12.0%)" in low["warning"]
    high = unlabeled_estimate(0.70, tpr=0.66, fpr=0.12)
    assert high["estimated_share"] == 1.0 and "at least its test TPR (66.0%)" in high["warning"]
    assert unlabeled_estimate(0.3, tpr=0.1, fpr=0.2)["expected"] is None


def test_card_shows_expected_f1_by_share_of_positives(grouped):
    pv = grouped.metrics["test"]["prevalence"]
    card = grouped.card_path.read_text()
    assert "## Expected F1 by share of positives" in card
    own = next(r for r in pv["table"] if r["share"] == pv["share"])
    assert own["f1"] == pytest.approx(grouped.metrics["test"]["f1"])
    assert f"| {pv['share']:.1%} (test) | {own['precision']:.3f} | {own['recall']:.3f} | {own['f1']:.3f} |" in card
    assert "| 1.0% |" in card and "| 50.0% |" in card
