"""The shipped configs: both valid, and demo.yaml differs from default.yaml only as documented."""

from __future__ import annotations

from gristmill.config import REPO_ROOT, load_config


def test_demo_config_is_default_with_two_documented_changes():
    default = load_config(REPO_ROOT / "configs" / "default.yaml")
    demo = load_config(REPO_ROOT / "configs" / "demo.yaml")
    d, m = default.model_dump(), demo.model_dump()
    assert {k: v for k, v in d.items() if k != "filters"} == {k: v for k, v in m.items() if k != "filters"}

    def key(f):
        return (f["name"], f["params"].get("tag"))

    # 1. the same filters, the classifiers moved before the Gopher rules
    assert sorted(map(key, d["filters"])) == sorted(map(key, m["filters"]))
    order = [key(f) for f in m["filters"]]
    assert order.index(("fasttext", "toxicity")) < order.index(("gopher_quality", None))
    assert order.index(("fasttext", "spam")) < order.index(("gopher_quality", None))
    # 2. toxicity filters in the demo, annotates by default; nothing else differs
    by_key_d = {key(f): f for f in d["filters"]}
    for f in m["filters"]:
        other = by_key_d[key(f)]
        if key(f) == ("fasttext", "toxicity"):
            assert (other["mode"], f["mode"]) == ("annotate", "filter")
            assert other["params"] == f["params"]
        else:
            assert other == f


def test_default_config_has_every_stage():
    cfg = load_config(None)
    assert cfg.normalize and cfg.dedup and cfg.dedup.exact is not None and cfg.dedup.minhash is not None
    assert cfg.tokenize is not None
    names = {f.name for f in cfg.filters}
    assert {"word_count", "language", "gopher_quality", "gopher_repetition", "c4", "fineweb_quality",
            "special_characters", "fasttext"} <= names
