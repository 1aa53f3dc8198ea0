"""The shipped configs: package data found from any directory, by name or path; both valid,
and demo differs from default only as documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from gristmill.cli import main
from gristmill.config import ConfigError, builtin_config_text, builtin_configs, load_config

REPO = Path(__file__).resolve().parents[1]  # the checkout (tests only: src/ never reads it)


def test_demo_config_is_default_with_two_documented_changes():
    default = load_config("default")
    demo = load_config("demo")
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


def test_configs_load_by_name_and_by_path_from_an_empty_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing here: the built-in configs come from the package
    assert builtin_configs() == ["default", "demo", "web"]
    assert load_config(None) == load_config("default")
    demo = load_config("demo")
    assert [f.params.get("model") for f in demo.filters if f.name == "fasttext"] == ["spam-sms", "toxicity-fortunes"]
    # a path (with a suffix, or a bare word naming an existing file) is read as a file
    (tmp_path / "mine.yaml").write_text(builtin_config_text("demo"))
    (tmp_path / "nosuffix").write_text("filters:\n  - name: word_count\n")
    assert load_config("mine.yaml") == demo == load_config(tmp_path / "mine.yaml")
    assert [f.name for f in load_config("nosuffix").filters] == ["word_count"]


def test_unknown_config_name_lists_the_built_in_names(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"'demos' is neither a file nor a built-in config; built-in configs: default, demo"):
        load_config("demos")
    with pytest.raises(ConfigError, match="config file not found: sub/demo.yaml"):
        load_config("sub/demo.yaml")
    (tmp_path / "in.jsonl").write_text('{"id": "a", "text": "one two three four five six"}\n')
    assert main(["run", "--input", "in.jsonl", "--output", "out", "--config", "defualt"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gristmill: error: config 'defualt'") and "built-in configs: default, demo" in err
    assert not (tmp_path / "out").exists()


def test_repo_configs_folder_is_the_package_data():
    """The README's and Makefile's `configs/` is a committed link to the shipped files."""
    link = REPO / "configs"
    assert link.is_symlink() and link.resolve() == (REPO / "src" / "gristmill" / "configs").resolve()
    for name in builtin_configs():
        assert (link / f"{name}.yaml").read_text() == builtin_config_text(name)
    assert sorted(p.name for p in (link / "classifiers").iterdir()) == ["spam.md", "toxicity.md"]


def test_src_never_reads_the_source_tree():
    src = REPO / "src" / "gristmill"
    for py in src.rglob("*.py"):
        text = py.read_text()
        assert "REPO_ROOT" not in text and "parents[2]" not in text, py
