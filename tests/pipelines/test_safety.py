"""Issue 12: a run never destroys what gristmill did not create, keeps one writer per output,
replaces an old run crash-safely, and turns a crashing document into an error record.

Every case reproduces a failure found on an earlier version (named in each test) and checks
that the files that must survive do survive (hashed before and after).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from gristmill.cli import main
from gristmill.config import parse_config
from gristmill.filters.base import Filter, Verdict, registered
from gristmill.pipelines import rundir
from gristmill.pipelines.run import run_pipeline
from gristmill.schemas import DOCUMENT_SCHEMA, ERROR_SCHEMA, REJECTION_SCHEMA

CFG = parse_config({"normalize": {}, "filters": [{"name": "word_count", "params": {"min_words": 3}}]})


def _tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (hidden ones too), by relative path."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture()
def corpus(tmp_path, demo_dir) -> Path:
    """A user's corpus directory: 60 real SMS messages and a notes file of their own."""
    d = tmp_path / "corpus"
    d.mkdir()
    lines = (demo_dir / "corpus" / "sms_spam.jsonl").read_text().splitlines()[:60]
    (d / "sms.jsonl").write_text("\n".join(lines) + "\n")
    (d / "README.notes").write_text("my notes, not gristmill's\n")
    return d


def _one_error_line(capsys) -> str:
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1, err
    assert err[0].startswith("gristmill: error:") and "Traceback" not in err[0]
    return err[0]


def _cli_run(corpus: Path, out: Path | str, *flags: str) -> int:
    return main(["run", "--input", str(corpus), "--output", str(out), *flags])


# ---------------------------------------------------------------- where a run may write

def test_overwrite_never_deletes_the_input(corpus, capsys):
    """Found: `--input DIR --output DIR --overwrite` deleted the input corpus (exit 0)."""
    before = _tree_digest(corpus)
    assert _cli_run(corpus, corpus, "--overwrite") == 2
    assert "is the input" in _one_error_line(capsys)
    assert _tree_digest(corpus) == before


def test_working_directory_and_root_are_refused(corpus, tmp_path, monkeypatch, capsys):
    """Found: `--output . --overwrite` deleted every file in the working directory."""
    cwd = tmp_path / "work"
    cwd.mkdir()
    (cwd / "thesis.tex").write_text("years of work")
    monkeypatch.chdir(cwd)
    before = _tree_digest(cwd)
    assert _cli_run(corpus, ".", "--overwrite") == 2
    assert "the working directory" in _one_error_line(capsys)
    assert _cli_run(corpus, "/", "--overwrite") == 2
    assert "filesystem root" in _one_error_line(capsys)
    assert _tree_digest(cwd) == before


def test_home_directory_refused(corpus, tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    assert _cli_run(corpus, home, "--overwrite") == 2
    assert "home directory" in _one_error_line(capsys)


def test_unrelated_directory_is_not_wiped(corpus, tmp_path, capsys):
    """Found: a directory of unrelated user files given as --output was wiped silently."""
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "cat.jpg").write_bytes(os.urandom(1000))
    before = _tree_digest(photos)
    assert _cli_run(corpus, photos, "--overwrite") == 2
    line = _one_error_line(capsys)
    assert "no .gristmill-run marker" in line and "did not create it" in line
    assert _tree_digest(photos) == before
    assert not Path(str(photos) + ".partial").exists() and not Path(str(photos) + ".lock").exists()


def test_output_inside_input_and_input_inside_output_refused(corpus, tmp_path, capsys):
    """Found: --output inside an input directory was accepted, and the next run read its own
    previous output back as input."""
    before = _tree_digest(corpus)
    assert _cli_run(corpus, corpus / "runs" / "r1") == 2
    assert "inside the input directory" in _one_error_line(capsys)
    assert main(["run", "--input", str(corpus / "sms.jsonl"), "--output", str(tmp_path), "--overwrite"]) == 2
    assert "holds the input" in _one_error_line(capsys)
    assert _tree_digest(corpus) == before and not (corpus / "runs").exists()


def test_output_that_is_a_file_is_one_line(corpus, tmp_path, capsys):
    f = tmp_path / "out.txt"
    f.write_text("keep me")
    assert _cli_run(corpus, f, "--overwrite") == 2
    assert "is a file, not a directory" in _one_error_line(capsys)
    assert f.read_text() == "keep me"


def test_overwrite_replaces_a_marked_run_and_an_empty_dir(corpus, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    s = run_pipeline([str(corpus)], str(empty), CFG, overwrite=True)
    assert s["balanced"] and rundir.is_run_dir(empty)
    marker = json.loads((empty / rundir.MARKER).read_text())
    assert marker["config_hash"] == CFG.digest()
    (empty / "kept" / "stale.parquet").write_bytes(b"from the old run")
    s2 = run_pipeline([str(corpus)], str(empty), CFG, overwrite=True)
    assert s2["kept"] == s["kept"] and not (empty / "kept" / "stale.parquet").exists()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith("empty.")]
    assert leftovers == []


def test_partial_without_marker_is_not_removed(corpus, tmp_path):
    out = tmp_path / "r"
    partial = Path(str(out) + ".partial")
    partial.mkdir()
    (partial / "mine.txt").write_text("a user's directory that happens to end in .partial")
    with pytest.raises(rundir.UnsafeOutput, match="no .gristmill-run marker"):
        run_pipeline([str(corpus)], str(out), CFG)
    assert (partial / "mine.txt").exists()


# ---------------------------------------------------------------- one writer per output

def test_second_run_on_a_locked_output_is_refused_then_stale_lock_taken_over(corpus, tmp_path, capsys, caplog):
    """Found: two runs on one --output at once: the second deleted the first's live .partial."""
    out = tmp_path / "r"
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock = Path(str(out) + rundir.LOCK_SUFFIX)
        lock.write_text(json.dumps({"host": rundir.socket.gethostname(), "pid": holder.pid,
                                    "start": rundir._proc_start(holder.pid)}))
        partial = Path(str(out) + ".partial")
        partial.mkdir()
        (partial / rundir.MARKER).write_text("{}")
        (partial / "live.parquet").write_text("the first run's work")
        cfg = out.parent / "cfg.yaml"
        cfg.write_text("filters:\n  - name: word_count\n")
        assert _cli_run(corpus, out, "--config", str(cfg)) == 2
        line = _one_error_line(capsys)
        assert f"process {holder.pid}" in line and "lock" in line
        assert (partial / "live.parquet").exists()
    finally:
        holder.kill()
        holder.wait()
    # the holder is gone: its lock is stale and taken over with a warning
    s = run_pipeline([str(corpus)], str(out), CFG)
    assert s["balanced"] and "stale lock" in caplog.text
    assert not Path(str(out) + rundir.LOCK_SUFFIX).exists() and not partial.exists()


def test_lock_is_exclusive_within_a_process(tmp_path):
    out = str(tmp_path / "r")
    with rundir.output_lock(out):
        with pytest.raises(rundir.OutputLocked, match=f"process {os.getpid()}"), rundir.output_lock(out):
            pass
        assert os.path.exists(out + rundir.LOCK_SUFFIX)
    assert not os.path.exists(out + rundir.LOCK_SUFFIX)


# ---------------------------------------------------------------- crash-safe replacement

_RUN_SNIPPET = """
import sys
from gristmill.config import parse_config
from gristmill.pipelines.run import run_pipeline
cfg = parse_config({"normalize": {}, "filters": [{"name": "word_count", "params": {"min_words": int(sys.argv[3])}}]})
run_pipeline([sys.argv[1]], sys.argv[2], cfg, overwrite=True)
"""


def _run_killed_at(corpus: Path, out: Path, min_words: int, step: str | None, no_exchange: bool = False) -> int:
    env = dict(os.environ)
    env.pop(rundir.KILL_AT_ENV, None)
    env.pop(rundir.NO_EXCHANGE_ENV, None)
    if step:
        env[rundir.KILL_AT_ENV] = step
    if no_exchange:
        env[rundir.NO_EXCHANGE_ENV] = "1"
    r = subprocess.run([sys.executable, "-c", _RUN_SNIPPET, str(corpus), str(out), str(min_words)],
                       env=env, capture_output=True, text=True, timeout=300)
    return r.returncode


def _complete_run(out: Path) -> int:
    """The min_words setting of the complete run at ``out`` (fails if there is none)."""
    assert rundir.is_run_dir(out), f"no complete run at {out}"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["balanced"] and (out / "kept").is_dir()
    return summary["config"]["filters"][0]["params"]["min_words"]


@pytest.mark.slow
def test_sigkill_during_replacement_leaves_one_complete_run(corpus, tmp_path):
    """SIGKILL `run --overwrite` before, during and after the swap: afterwards exactly one
    complete run (the old or the new) is at --output."""
    out = tmp_path / "r"
    assert _run_killed_at(corpus, out, 3, None) == 0
    assert _complete_run(out) == 3
    for step, expect in [("before-replace", 3), ("after-exchange", 5), ("after-replace", 5)]:
        new = 5 if _complete_run(out) == 3 else 3
        rc = _run_killed_at(corpus, out, new, step)
        assert rc == -signal.SIGKILL, step
        got = _complete_run(out)
        assert got == (new if expect == 5 else 8 - new), step
    # The rename-aside path (where RENAME_EXCHANGE is missing): a kill between its two renames
    # leaves no run at --output until the next run puts the complete one back.
    current = _complete_run(out)
    new = 8 - current
    assert _run_killed_at(corpus, out, new, "after-aside", no_exchange=True) == -signal.SIGKILL
    assert not out.exists() and rundir.is_run_dir(Path(str(out) + rundir.REPLACED_SUFFIX))
    rundir.recover(str(out))
    assert _complete_run(out) == new  # the new run had finished: it is put in place
    assert not Path(str(out) + rundir.REPLACED_SUFFIX).exists()
    assert _run_killed_at(corpus, out, 8 - new, "after-rename", no_exchange=True) == -signal.SIGKILL
    assert _complete_run(out) == 8 - new
    assert _run_killed_at(corpus, out, new, None, no_exchange=True) == 0  # cleans what was left
    assert _complete_run(out) == new
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("r")) == ["r"]


def test_recover_puts_the_old_run_back_when_the_new_one_did_not_finish(tmp_path):
    out = tmp_path / "r"
    aside = Path(str(out) + rundir.REPLACED_SUFFIX)
    aside.mkdir()
    (aside / rundir.MARKER).write_text("{}")
    (aside / "summary.json").write_text("{}")
    partial = Path(str(out) + rundir.PARTIAL_SUFFIX)
    partial.mkdir()
    (partial / rundir.MARKER).write_text("{}")  # no summary.json: it did not finish
    rundir.recover(str(out))
    assert (out / "summary.json").exists() and not aside.exists()


# ---------------------------------------------------------------- no record kills a run

class _Explodes(Filter):
    """A filter with a bug: it raises on documents that mention 'prize'."""

    name = "test_explodes"
    version = "1"

    def __call__(self, doc) -> Verdict:
        if "prize" in doc.text.lower():
            raise RuntimeError("bug in a user's filter")
        return Verdict(keep=True, scores={"test_explodes.ok": 1.0})


def test_a_crashing_filter_becomes_error_records(corpus, tmp_path):
    with registered(_Explodes):
        cfg = parse_config({"normalize": {}, "filters": [{"name": "test_explodes"}],
                            "dedup": {"exact": {}}})
        s = run_pipeline([str(corpus / "sms.jsonl")], str(tmp_path / "r"), cfg)
    prize = sum("prize" in json.loads(ln)["text"].lower() for ln in (corpus / "sms.jsonl").read_text().splitlines())
    assert prize > 0
    assert s["balanced"] and s["errors_by_type"] == {"filter_exception": prize}
    errs = pq.read_table(tmp_path / "r" / "errors").to_pylist()
    assert all("bug in a user's filter" in e["message"] and e["raw"] for e in errs)


# ---------------------------------------------------------------- empty results

def test_empty_results_still_have_their_directories(corpus, tmp_path):
    """Found: a run that kept nothing had no kept/ (and no errors/): `kept/*.parquet` failed."""
    cfg = parse_config({"filters": [{"name": "word_count", "params": {"min_words": 10_000}}]})
    out = tmp_path / "r"
    s = run_pipeline([str(corpus / "sms.jsonl")], str(out), cfg)
    assert s["kept"] == 0 and s["errors"] == 0 and s["rejected"] == 60
    for kind, schema in [("kept", DOCUMENT_SCHEMA), ("errors", ERROR_SCHEMA), ("rejected", REJECTION_SCHEMA)]:
        files = sorted((out / kind).glob("*.parquet"))
        assert files, kind
        t = pq.read_table(files[0])
        assert t.schema.equals(schema, check_metadata=False), kind
    assert pq.read_table(out / "kept").num_rows == 0
