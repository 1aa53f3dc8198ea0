"""The HTML report as a person sees it: rendered by headless Chromium (Debian's ``chromium``,
installed by ``.ci/run``). Checks the page loaded its plots and tables, has every section,
sorts its tables and logs no console errors; plus its numbers against the run."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gristmill.cli import main

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SECTIONS = ["funnel", "filters", "scores", "samples", "dedup", "sources", "errors"]


def chromium(*args: str, timeout: int = 90) -> subprocess.CompletedProcess:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: `apt-get install -y --no-install-recommends chromium` "
                    "(.ci/run does this)")
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000", *args],
        capture_output=True, text=True, timeout=timeout,
    )


def console_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ":CONSOLE" in ln or "Uncaught" in ln]


@pytest.fixture(scope="module")
def report_html(run_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("html") / "report.html"
    assert main(["report", str(run_dir), "--html", str(out), "--quiet"]) == 0
    return out


def test_self_contained(report_html):
    doc = report_html.read_text()
    # nothing fetched: no http(s) URLs in src/href, images are data URIs
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", doc)
    imgs = re.findall(r'<img [^>]*src="([^"]+)"', doc)
    assert len(imgs) >= 3 and all(s.startswith("data:image/png;base64,") for s in imgs)


def test_numbers_match_the_run(report_html, run_dir):
    import pyarrow.parquet as pq

    doc = report_html.read_text()
    kept = sum(pq.ParquetFile(f).metadata.num_rows for f in (run_dir / "kept").glob("*.parquet"))
    rej = pq.read_table(run_dir / "rejected", columns=["reason"]).column("reason").to_pylist()
    assert f"kept {kept:,}" in doc
    tokens = json.loads((run_dir / "shards" / "manifest.json").read_text())["totals"]["tokens"]
    assert f"tokens {tokens:,}" in doc
    for reason in set(rej):
        row = re.search(rf"<td>{re.escape(reason)}</td><td class=\"n\" data-v=\"(\d+)\"", doc)
        assert row and int(row.group(1)) == rej.count(reason), reason


def test_renders_in_chromium(report_html, tmp_path):
    shot = tmp_path / "shot.png"
    r = chromium(f"--screenshot={shot}", "--window-size=1280,3000", report_html.as_uri())
    assert shot.exists(), r.stderr[-2000:]
    assert not console_lines(r.stderr), console_lines(r.stderr)
    px = np.asarray(Image.open(shot).convert("L"), dtype=np.float64)
    assert px.std() > 20  # not blank: text, tables and plots
    # the plots are drawn: the first screen holds the funnel chart's bars (dark blue)
    rgb = np.asarray(Image.open(shot).convert("RGB"), dtype=np.int32)
    blue = (abs(rgb[..., 0] - 0x1F) < 20) & (abs(rgb[..., 1] - 0x5F) < 20) & (abs(rgb[..., 2] - 0xA8) < 20)
    assert blue.sum() > 5000


def test_dom_loaded_plots_tables_and_sorts(report_html, tmp_path):
    doc = report_html.read_text()
    n_img = len(re.findall(r"<img ", doc))
    # click the "docs" header of the filters table twice (descending) and record the order
    probe = """<script>window.addEventListener('load',function(){
      var t=document.querySelector('#filters table.sortable');var th=t.querySelectorAll('th')[4];
      th.click();th.click();
      var v=Array.prototype.map.call(t.tBodies[0].rows,function(r){return r.cells[4].getAttribute('data-v');});
      document.body.setAttribute('data-probe',v.join(','));});</script></body>"""
    page = tmp_path / "probe.html"
    page.write_text(doc.replace("</body>", probe))
    r = chromium("--dump-dom", page.as_uri())
    dom = r.stdout
    assert not console_lines(r.stderr), console_lines(r.stderr)
    assert 'data-ready="1"' in dom
    assert f'data-images-ok="{n_img}"' in dom  # every plot decoded
    assert dom.count('data-sortable="ready"') >= 5
    for s in SECTIONS:
        assert f'<section id="{s}">' in dom
    order = [int(x) for x in re.search(r'data-probe="([\d,]+)"', dom).group(1).split(",")]
    assert order == sorted(order, reverse=True) and len(order) >= 3


def test_samples_and_duplicate_pairs(report_html, run_dir):
    doc = report_html.read_text()
    assert '<h3 class="reason">word_count.too_few_words' in doc
    dedup = doc[doc.index('<section id="dedup">'):doc.index('<section id="sources">')]
    assert dedup.count('<div class="pair">') >= 2
    # the planted near-duplicate dropped a line of its representative: marked on the right
    assert '<mark class="rep">' in dedup and "-near</b>" in dedup
