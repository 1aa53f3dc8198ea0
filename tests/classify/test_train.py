"""Train on real data, check held-out metrics, the files written beside the model, the CLI."""

from __future__ import annotations

import json
import random

import pytest

from gristmill.classify.data import DataError, read_examples
from gristmill.classify.evaluate import evaluate_model
from gristmill.classify.model import load_model, predict_probs
from gristmill.classify.preprocess import preprocess
from gristmill.classify.train import ClassifierConfig, train_classifier
from gristmill.cli import main


def test_spam_model_beats_floor_on_its_clean_test_split(spam_model):
    m = spam_model.metrics
    t = m["test"]
    assert m["positive"] == "spam"
    assert t["f1"] >= 0.90 and t["precision"] >= 0.90 and t["roc_auc"] >= 0.97
    assert m["split"]["dedup"]["grouped_docs"] > 0
    # the per-label block and the confusion matrix agree with the split sizes
    assert sum(map(sum, t["confusion_matrix"]["matrix"])) == m["split"]["sizes"]["test"]
    assert set(t["labels"]) == {"ham", "spam"}
    for k in ("precision", "recall", "f1", "roc_auc", "pr_auc", "support"):
        assert k in t["labels"]["spam"]
    assert 0.0 < m["threshold"] < 1.0


def test_files_beside_the_model(spam_model):
    assert spam_model.model_path.is_file()
    on_disk = json.loads(spam_model.metrics_path.read_text())
    assert on_disk["test"]["f1"] == spam_model.metrics["test"]["f1"]
    card = spam_model.card_path.read_text()
    assert "SMS Spam Collection: spam vs ham" in card
    assert f"{spam_model.metrics['test']['f1']:.3f}" in card
    assert "name: fasttext" in card and "remove: [spam]" in card
    assert not list(spam_model.model_path.parent.glob("*.tmp"))


def test_threshold_was_chosen_on_validation_not_test(spam_model):
    from gristmill.classify.metrics import best_f1_threshold  # noqa: F401

    m = spam_model.metrics
    assert m["valid"]["threshold"] == m["test"]["threshold"] == m["threshold"]
    assert "validation" in m["threshold_rule"]


def test_toxicity_sample_learns_something(demo_dir, tmp_path):
    """Fortunes are a hard label (see the model card); on a 1/3 sample we only guard against
    regressions such as an unshuffled training file (which dropped ROC-AUC to ~0.73)."""
    rows = (demo_dir / "corpus" / "fortunes.jsonl").read_text().splitlines()[::3]
    sample = tmp_path / "fortunes_sample.jsonl"
    sample.write_text("\n".join(rows) + "\n")
    res = train_classifier([sample], tmp_path / "tox.bin", ClassifierConfig(dim=20, bucket=50_000),
                           positive="offensive")
    t = res.metrics["test"]
    assert t["roc_auc"] >= 0.75 and t["f1"] >= 0.4, t


def test_training_is_reproducible_with_one_thread(demo_dir, tmp_path):
    rows = (demo_dir / "corpus" / "sms_spam.jsonl").read_text().splitlines()[:1200]
    data = tmp_path / "sms.jsonl"
    data.write_text("\n".join(rows) + "\n")
    cfg = ClassifierConfig(dim=10, bucket=5000, epoch=5, seed=7, threads=1)
    a = train_classifier([data], tmp_path / "a.bin", cfg, name="sms")
    b = train_classifier([data], tmp_path / "b.bin", cfg, name="sms")
    assert a.model_path.read_bytes() == b.model_path.read_bytes()
    ma, mb = dict(a.metrics), dict(b.metrics)
    for m in (ma, mb):
        m.pop("model"), m.pop("model_path"), m.pop("name"), m.pop("reliability_plot")
    assert ma == mb
    # the reliability plot too (same name, same title): no date or version in the PNG
    assert (tmp_path / "a.reliability.png").read_bytes() == (tmp_path / "b.reliability.png").read_bytes()


def test_quantize_writes_a_small_ftz_that_still_works(demo_dir, tmp_path):
    rows = (demo_dir / "corpus" / "sms_spam.jsonl").read_text().splitlines()[:1500]
    data = tmp_path / "sms.jsonl"
    data.write_text("\n".join(rows) + "\n")
    res = train_classifier([data], tmp_path / "q.bin", ClassifierConfig(dim=20, bucket=20_000, quantize=True))
    assert res.quantized_path is not None and res.quantized_path.suffix == ".ftz"
    q = res.metrics["quantized"]
    assert q["model_bytes"] < res.metrics["model_bytes"] / 2
    assert q["test"]["f1"] >= 0.8
    out = evaluate_model(res.quantized_path, [data])
    assert out["threshold"] == q["threshold"]  # the .ftz's own threshold is used


def test_inference_uses_the_training_preprocessing(spam_model, demo_dir):
    model = load_model(spam_model.model_path)
    texts = [r["text"] for r in map(json.loads, (demo_dir / "corpus" / "sms_spam.jsonl").read_text()
                                    .splitlines()[:50])]
    labels, probs = predict_probs(model, texts, preprocess)
    for text, row in zip(texts, probs, strict=True):
        labs, ps = model.predict(preprocess(text), k=-1)
        want = dict(zip([x.removeprefix("__label__") for x in labs], ps, strict=True))
        assert [want[lab] for lab in labels] == pytest.approx(row.tolist(), abs=2e-5)  # we clip 1.00001 to 1


def test_cli_train_and_eval(demo_dir, tmp_path, capsys):
    rows = (demo_dir / "corpus" / "sms_spam.jsonl").read_text().splitlines()
    random.Random(0).shuffle(rows)
    data = tmp_path / "sms.jsonl"
    data.write_text("\n".join(rows[:1500]) + "\n")
    held = tmp_path / "held.txt"  # fastText format, the other input format
    held.write_text("".join(f"__label__{r['label']} {r['text']}\n".replace("\n", " ").rstrip() + "\n"
                            for r in map(json.loads, rows[3000:3600])))
    out = tmp_path / "m" / "spam.bin"
    rc = main(["classifier", "train", "--data", str(data), "--out", str(out), "--dim", "20",
               "--bucket", "20000", "--description", "spam vs ham"])
    assert rc == 0
    assert "f1=" in capsys.readouterr().out
    assert (tmp_path / "m" / "spam.metrics.json").is_file() and (tmp_path / "m" / "spam.card.md").is_file()
    rc = main(["classifier", "eval", "--model", str(out), "--data", str(held), "--positive", "spam"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert res["n"] == 600 and res["positive"] == "spam"
    assert res["f1"] >= 0.85 and res["precision"] > 0 and res["recall"] > 0


def test_bad_input_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine", "label": "ham"}\n{"text": "oops", "label": \n')
    with pytest.raises(DataError, match=r"bad.jsonl:2: not valid JSON"):
        read_examples([bad])
    nolabel = tmp_path / "nolabel.jsonl"
    nolabel.write_text('{"text": "fine", "category": "ham"}\n')
    with pytest.raises(DataError, match=r"nolabel.jsonl:1: no field 'label'.*--label-field"):
        read_examples([nolabel])
    rc = main(["classifier", "train", "--data", str(bad), "--out", str(tmp_path / "x.bin")])
    assert rc == 2 and "bad.jsonl:2" in capsys.readouterr().err
    rc = main(["classifier", "eval", "--model", str(tmp_path / "missing.bin"), "--data", str(bad)])
    assert rc == 2 and "not found" in capsys.readouterr().err


def test_relabel_rule_on_real_fortunes(demo_dir, tmp_path, capsys):
    """``--relabel source=fortune/limerick:offensive``: the limerick files FreeBSD installs only
    with its offensive set become offensive as the data is read (the file is untouched), the
    rule and its count are recorded, ``eval`` applies the same rule, and the model flags
    them."""
    rows = [json.loads(r) for r in (demo_dir / "corpus" / "fortunes.jsonl").read_text().splitlines()[::3]]
    sample = tmp_path / "fortunes_sample.jsonl"
    sample.write_text("".join(json.dumps(r) + "\n" for r in rows))
    n_lim = sum(r["source"] in ("fortune/limerick", "fortune/gerrold.limerick") for r in rows)
    assert n_lim > 200 and all(r["label"] == "clean" for r in rows if "limerick" in r["source"])
    out = tmp_path / "tox.bin"
    rc = main(["classifier", "train", "--data", str(sample), "--out", str(out), "--positive", "offensive",
               "--dim", "20", "--bucket", "50000", "--relabel", "source=fortune/limerick:offensive",
               "--relabel", "source=fortune/gerrold.limerick:offensive"])
    assert rc == 0
    capsys.readouterr()
    m = json.loads((tmp_path / "tox.metrics.json").read_text())
    assert sum(r["changed"] for r in m["relabel"]) == n_lim
    assert m["relabel"][0]["rule"] == "source=fortune/limerick:offensive"
    assert "source=fortune/gerrold.limerick:offensive" in (tmp_path / "tox.card.md").read_text()
    limericks = tmp_path / "limericks.jsonl"  # a limerick-only file: the rule applies in eval too
    limericks.write_text("".join(json.dumps(r) + "\n" for r in rows if r["source"] == "fortune/limerick"))
    rc = main(["classifier", "eval", "--model", str(out), "--data", str(limericks),
               "--relabel", "source=fortune/limerick:offensive"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert res["labels"]["offensive"]["support"] == res["n"] > 200 and res["recall"] >= 0.9
    assert main(["classifier", "train", "--data", str(sample), "--out", str(out), "--relabel", "source"]) == 2
    assert "FIELD=VALUE:LABEL" in capsys.readouterr().err
