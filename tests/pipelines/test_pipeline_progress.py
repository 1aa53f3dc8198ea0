"""Progress while a pipeline runs: periodic lines with live counts, exact final counts."""

from __future__ import annotations

import io
import logging
import os
import time
from pathlib import Path

import pytest

from gristmill.cli import main
from gristmill.config import TokenizeConfig, parse_config
from gristmill.pipelines import progress
from gristmill.pipelines.run import run_pipeline
from gristmill.pipelines.tokenize import run_tokenize

CFG = parse_config({
    "normalize": {},
    "filters": [{"name": "word_count", "params": {"min_words": 5}}],
    "dedup": {"exact": {}, "minhash": {"threshold": 0.8}},
    "output": {"num_shards": 2},
})
PLAIN = parse_config({"filters": [{"name": "word_count", "params": {"min_words": 5}}]})
LABEL_TO_KEY = {label: key for key, label in progress.LABELS.items()}


def _lines(caplog, command: str) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "gristmill" and r.getMessage().startswith(f"{command} ")]


def _counts(line: str) -> dict[str, int]:
    """A progress line's counts by stage key: ``run 1.2 s: read 5 of 9 (55%) · parsed 5``."""
    out = {}
    for part in line.split(": ", 1)[1].split(" · "):
        words = part.split(" of ")[0].rsplit(" ", 1)
        if len(words) == 2 and words[1].replace(",", "").isdigit():
            out[LABEL_TO_KEY[words[0]]] = int(words[1].replace(",", ""))
    return out


@pytest.fixture
def fast_flush(monkeypatch):
    """Tallies written every 50 ms (in this process), so short runs still show live counts."""
    monkeypatch.setattr(progress, "FLUSH_S", 0.05)


@pytest.fixture(scope="module")
def corpus(demo_dir, tmp_path_factory) -> Path:
    """~1,900 real documents: fortunes (with exact copies), SMS messages, literature scenes."""
    d = tmp_path_factory.mktemp("progress_corpus")
    src = demo_dir / "corpus"
    for name, n in (("fortunes.jsonl", 1200), ("sms_spam.jsonl", 600), ("literature.jsonl", 60)):
        lines = (src / name).read_bytes().splitlines(keepends=True)[:n]
        (d / name).write_bytes(b"".join(lines))
    return d


def test_run_reports_while_running_and_final_counts_match_the_summary(corpus, tmp_path, caplog, fast_flush):
    caplog.set_level(logging.INFO, logger="gristmill")
    out = tmp_path / "run"
    s = run_pipeline([str(corpus)], str(out), CFG, progress_every=0.2)

    lines = _lines(caplog, "run")
    assert lines[-1].startswith("run done in") and sum(x.startswith("run done") for x in lines) == 1
    live = [_counts(x) for x in lines[:-1]]
    assert any(c.get("read", 0) > 0 for c in live), lines  # documents read, before the end
    assert any("dedup" in x for x in lines[:-1])  # the dedup passes say what they are doing
    final = _counts(lines[-1])
    assert final["ids"] == final["read"] == s["input_records"] == 1860
    assert final["parsed"] == s["input_records"] - s["errors"]
    assert final["filtered"] == final["parsed"] - sum(s["by_filter"]["word_count"].values())
    assert final["dedup.spill"] == final["dedup.bands"] == final["dedup.decide"] == final["filtered"]
    assert final["written.kept"] == s["kept"]
    assert final["written.rejected"] == s["rejected"] and final.get("written.errors", 0) == s["errors"]
    # the count files went with the scratch directory; the workers' variable is unset again
    assert not (out / "_tmp").exists() and progress.ENV_DIR not in os.environ

    # tokenize on the run's kept documents: documents, tokens and shards, live and final
    caplog.clear()
    manifest = run_tokenize(str(out), str(tmp_path / "shards"), TokenizeConfig(), progress_every=0.2)
    lines = _lines(caplog, "tokenize")
    final = _counts(lines[-1])
    assert lines[-1].startswith("tokenize done in")
    assert final["tokenize.documents"] == manifest["totals"]["documents"] == s["kept"]
    assert final["tokenize.tokens"] == manifest["totals"]["tokens"]
    assert final["tokenize.shards"] == len(manifest["shards"])
    assert not (tmp_path / "shards" / "_progress").exists()


def test_two_worker_processes_report_too(corpus, tmp_path, caplog):
    """Beam's worker subprocesses write their own count files; the driver sums them."""
    caplog.set_level(logging.INFO, logger="gristmill")
    (tmp_path / "in.jsonl").write_bytes(b"".join((corpus / "fortunes.jsonl").read_bytes().splitlines(True)[:300]))
    s = run_pipeline([str(tmp_path / "in.jsonl")], str(tmp_path / "multi"), PLAIN, workers=2, progress_every=0.2)
    lines = _lines(caplog, "run")
    assert any(_counts(x).get("read", 0) > 0 for x in lines[:-1]), lines
    final = _counts(lines[-1])
    assert final["read"] == s["input_records"] == 300
    assert final["written.kept"] == s["kept"] and final.get("written.rejected", 0) == s["rejected"]


def test_quiet_or_zero_interval_counts_nothing(tmp_path, caplog):
    """Below INFO (``-q``) or with ``--progress-every 0`` nothing is counted or written."""
    for level, every in ((logging.WARNING, 1.0), (logging.INFO, 0.0)):
        caplog.clear()
        caplog.set_level(level, logger="gristmill")
        with progress.report("run", str(tmp_path / "p"), every) as r:
            progress.count("read", 5)
        assert r.final == {} and not (tmp_path / "p").exists() and progress.ENV_DIR not in os.environ
        assert not _lines(caplog, "run")


def test_terminal_gets_a_bar_not_lines(tmp_path, caplog, monkeypatch, fast_flush):
    caplog.set_level(logging.INFO, logger="gristmill")
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    monkeypatch.setattr(progress, "BAR_REFRESH_S", 0.05)
    with progress.report("run", str(tmp_path / "p"), 10.0, main="read", total_key="ids", bar=True) as r:
        progress.count("ids", 400)
        progress.count("read", 100)
        for _ in range(40):  # until the bar has shown the tally
            if "/400" in err.getvalue():
                break
            time.sleep(0.05)
    assert r.final == {"ids": 400, "read": 100}
    assert "100/400" in err.getvalue() and "%|" in err.getvalue()
    lines = _lines(caplog, "run")  # no plain lines beside the bar: only the final one
    assert len(lines) == 1 and lines[0].startswith("run done in")


def test_progress_every_flag(corpus, tmp_path, capsys):
    assert main(["run", "--input", str(corpus), "--output", str(tmp_path / "o"), "--progress-every", "-1"]) == 2
    assert "--progress-every" in capsys.readouterr().err
