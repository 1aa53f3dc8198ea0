"""``ablation.json``'s statistics and findings (``gristmill.ablate.results``): sample std over
seeds, binomial stderr, and a difference called within the seed spread exactly when the
per-seed ranges overlap; repetition and mixed tokenizers are said plainly."""

from __future__ import annotations

import math

import pytest

from gristmill.ablate.results import binomial_stderr, comparisons, sentences, spread


def _cfg(name: str, bpb: list[float], acc: list[float] | None = None, n: int = 400,
         epochs: float = 0.5) -> dict:
    sp = spread(bpb)
    out = {"name": name, "eval": {"heldout": {"bpb": bpb, **sp}}, "mc": {},
           "epochs": epochs, "repeats_data": epochs > 1, "train_split_tokens": 1000}
    if acc is not None:
        m = spread(acc)["mean"]
        out["mc"]["hs"] = {"acc_norm": acc, "mean": m, "stderr": binomial_stderr(m, n), "n": n}
    return out


def test_spread_and_stderr():
    assert spread([1.0, 2.0, 3.0]) == {"mean": 2.0, "std": 1.0}  # sample std (n - 1)
    assert spread([1.5]) == {"mean": 1.5, "std": 0.0}
    assert binomial_stderr(0.25, 300) == pytest.approx(math.sqrt(0.25 * 0.75 / 300))


def test_a_difference_is_within_the_seed_spread_when_the_seed_ranges_overlap():
    a, b, c = _cfg("a", [2.00, 2.10]), _cfg("b", [2.05, 2.20]), _cfg("c", [1.80, 1.85])
    got = {(x["a"], x["b"]): x for x in comparisons([a, b, c])}
    assert got[("a", "b")]["within_seed_spread"] is True
    assert got[("a", "b")]["better"] == "a" and got[("a", "b")]["diff"] == pytest.approx(0.075)
    assert got[("a", "c")]["within_seed_spread"] is False and got[("a", "c")]["better"] == "c"
    one = comparisons([_cfg("a", [2.0]), _cfg("b", [1.0])])
    assert one[0]["within_seed_spread"] is None  # one seed: no spread measured


def test_findings_say_which_config_is_better_and_whether_seeds_can_tell():
    report = {"seeds": 2, "tokenizer_shared": True,
              "configs": [_cfg("keep-all", [2.00, 2.10], [0.30, 0.31]),
                          _cfg("filtered", [1.60, 1.62], [0.29, 0.33], epochs=2.5)]}
    report["comparisons"] = comparisons(report["configs"])
    text = "\n".join(sentences(report))
    assert "heldout, bits per byte (lower is better)" in text
    assert "filtered is better than keep-all by 0.4400: outside the seed spread" in text
    assert "hs, acc_norm (higher is better)" in text and "WITHIN the seed spread" in text
    assert "within 2 standard errors" in text
    assert "filtered repeats its data: 2.50 epochs" in text
    report["tokenizer_shared"] = False
    assert "compare bits per byte only" in sentences(report)[-1]
