"""The report's "Resources" section: the memory and scratch figures a run wrote to
summary.json, shown in the terminal and on the page; a run from before they existed says so."""

from __future__ import annotations

import dataclasses
import io
import json

from rich.console import Console

from gristmill.report.html import render
from gristmill.report.run import RunDir
from gristmill.report.stats import compute_stats
from gristmill.report.terminal import print_report


def _terminal(st) -> str:
    buf = io.StringIO()
    print_report(st, Console(file=buf, width=100, markup=False))
    return buf.getvalue()


def test_resources_show_the_runs_own_figures(run_dir):
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["peak_rss_bytes"] > 50e6 and summary["spill_bytes"] > 0  # a real run measured them
    st = compute_stats(RunDir.open(run_dir))
    text, page = _terminal(st), render(st)
    gb = f"{summary['peak_rss_bytes'] / 1e9:.2f} GB"
    assert "Resources" in text and gb in text and f"{summary['spill_bytes'] / 1e9:.2f} GB" in text
    assert 'id="resources"' in page and gb in page and summary["peak_rss_method"] in page


def test_a_run_without_memory_figures_says_so(run_dir):
    st = compute_stats(RunDir.open(run_dir))
    old = {k: v for k, v in st.run.summary.items() if k not in ("peak_rss_bytes", "peak_rss_method", "spill_bytes")}
    st.run = dataclasses.replace(st.run, summary=old)
    assert "peak memory" not in _terminal(st)
    assert "records no memory figures" in render(st)
