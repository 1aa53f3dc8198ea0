"""The terminal report and ``inspect`` as a user runs them (through ``gristmill.cli.main``)."""

from __future__ import annotations

import io
import json
import re

from rich.console import Console

from gristmill.cli import main
from gristmill.report.run import RunDir
from gristmill.report.samples import representatives, sample_rejected
from gristmill.report.stats import compute_stats
from gristmill.report.terminal import inspect_renderables, print_report


def test_report_fits_80_columns(run_dir):
    st = compute_stats(RunDir.open(run_dir))
    buf = io.StringIO()
    print_report(st, Console(file=buf, width=80, markup=False))
    text = buf.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 80
    for title in ("Funnel", "Removed, by filter and reason", "By source", "Duplicates", "Scores",
                  "Rules", "Errors by type"):
        assert title in text
    assert f"{st.kept_docs:,}" in text and "too_few_words" in text and "malformed_json" in text
    manifest = json.loads((run_dir / "shards" / "manifest.json").read_text())
    assert re.search(rf"tokens \(shards\)\s+│\s+{manifest['totals']['tokens']:,}", text)


def test_cli_report_prints(run_dir, capsys):
    assert main(["report", str(run_dir)]) == 0
    printed = capsys.readouterr().out
    assert "Funnel" in printed and "By source" in printed


def test_cli_errors_are_clear(run_dir, tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "not a gristmill run directory" in capsys.readouterr().err
    assert main(["inspect", str(run_dir), "--filter", "nonexistent"]) == 2
    err = capsys.readouterr().err
    assert "word_count" in err  # lists the filters that did reject something
    assert main(["inspect", str(run_dir), "--filter", "word_count", "--reason", "bogus"]) == 2
    assert "word_count.too_few_words" in capsys.readouterr().err


def test_inspect_samples_are_seeded_and_filtered(run_dir):
    run = RunDir.open(run_dir)
    rows, counts = sample_rejected(run, "word_count", "too_few_words", n=4)
    again, _ = sample_rejected(run, "word_count", "word_count.too_few_words", n=4)
    assert [r["id"] for r in rows] == [r["id"] for r in again]
    assert len(rows) == 4 and all(r["reason"] == "word_count.too_few_words" for r in rows)
    assert counts["word_count.too_few_words"] > 4
    other, _ = sample_rejected(run, "word_count", n=4, seed=1)
    assert [r["id"] for r in other] != [r["id"] for r in rows]


def test_inspect_shows_the_matched_duplicate(run_dir, capsys):
    assert main(["inspect", str(run_dir), "--filter", "minhash", "-n", "5"]) == 0
    out = capsys.readouterr().out
    assert "minhash.duplicate" in out and "duplicate of" in out and "(kept)" in out
    assert "threshold 0.8" in out


def test_inspect_highlights_the_dropped_line(run_dir):
    """The planted near-duplicate dropped its 4th line; the matched document shows it marked."""
    run = RunDir.open(run_dir)
    rows, _ = sample_rejected(run, "minhash", n=10)
    near = [r for r in rows if r["id"].endswith("-near")]
    assert near
    reps = representatives(run, near)
    buf = io.StringIO()
    con = Console(file=buf, width=80, force_terminal=True, color_system="truecolor")
    for panel in inspect_renderables(near[:1], reps):
        con.print(panel)
    rep_text = reps[near[0]["duplicate_of"]]["text"]
    dropped = rep_text.split("\n")[3].strip()
    assert dropped and dropped.split()[-1].strip(".,;:!?") in buf.getvalue()
    assert "\x1b[" in buf.getvalue()  # styled (highlighted) output
