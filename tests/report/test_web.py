"""The demo's crawl through ``--config web`` (without tokenize, plus a decontaminate filter):
the run balances and decides as planned, and the report's web section shows the counts and
the pages before and after extraction and redaction, escaped, in both outputs."""

from __future__ import annotations

import html
import io
import json
import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from rich.console import Console

from gristmill.cli import main
from gristmill.data.demo_web import WARC_NAME, adult_domains, plan
from gristmill.pipelines.readers import RawRecord
from gristmill.pipelines.warc import read_warc
from gristmill.report import sections
from gristmill.report.html import _nav
from gristmill.report.run import RunDir
from gristmill.report.stats import compute_stats
from gristmill.report.terminal import print_report
from gristmill.schemas import entries_to_dict

CONFIGS = Path(__file__).resolve().parents[2] / "src" / "gristmill" / "configs"
# A sentence of the pinned Mako docs' caching page: that page is the one contaminated.
EVAL_TEXT = ("The above template, after being executed the first time, will store its content within "
             "a cache that by default is scoped within memory.")


@pytest.fixture(scope="module")
def web_run(demo_dir, tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("web_run")
    cfg = yaml.safe_load((CONFIGS / "web.yaml").read_text())
    del cfg["tokenize"]  # CI-sized: the shards are not what this tests
    (d / "mako_quiz.jsonl").write_text(json.dumps({"text": EVAL_TEXT}) + "\n")
    cfg["filters"].insert(-1, {"name": "decontaminate", "params": {"eval_files": [str(d / "mako_quiz.jsonl")]}})
    (d / "web.yaml").write_text(yaml.safe_dump(cfg))
    out = d / "run"
    assert main(["-q", "run", "--input", str(demo_dir / "web"), "--output", str(out),
                 "--config", str(d / "web.yaml")]) == 0
    return out


@pytest.fixture(scope="module")
def planned(demo_dir):
    rows = [json.loads(x) for x in (demo_dir / "corpus" / "literature.jsonl").read_text().splitlines()]
    roles, pii, _ = plan(rows)
    return {k: [p.url for p in v] for k, v in roles.items()}, pii


def _rows(run: Path, kind: str) -> list[dict]:
    return pq.read_table(run / kind).to_pylist()


def test_run_balances_counts_skipped_records_and_decides(web_run, planned):
    roles, _ = planned
    s = json.loads((web_run / "summary.json").read_text())
    assert s["balanced"] and s["input_records"] == 50 and s["errors"] == 0
    assert s["kept"] + s["rejected"] == 50
    assert s["skipped_records"] == {"request": 54, "response:application/javascript": 1, "response:image/png": 1,
                                    "response:text/css": 2, "revisit": 1, "warcinfo": 1}
    rejected = {r["url"]: r["reason"] for r in _rows(web_run, "rejected")}
    assert sorted(u for u, r in rejected.items() if r == "url.adult") == sorted(roles["adult_url"])
    assert all(any(d in u for d in adult_domains()) for u in roles["adult_url"])
    assert [u for u, r in rejected.items() if r == "extract.empty"] == roles["empty"]
    assert [u for u, r in rejected.items() if r == "decontaminate.mako_quiz"] == [
        "https://docs.makotemplates.org/en/rel_1_1/caching.html"]
    # the near-duplicates: one exact copy and one less a paragraph, removed by dedup
    dups = {u for u, r in rejected.items() if r in ("exact_dedup.duplicate", "minhash.duplicate")}
    assert len(dups) == 2 and roles["near_duplicate"][1] in dups


def test_planted_pii_is_redacted_and_counted(web_run, planned):
    _, pii = planned
    kept = _rows(web_run, "kept")
    texts = "\n".join(r["text"] for r in kept)
    for values in pii.values():
        assert all(v not in texts for v in values)
    totals = {k: sum(int(entries_to_dict(r["metadata"])[f"pii.{k}"]) for r in kept) for k in pii}
    assert totals == {k: len(v) for k, v in pii.items()} and set(totals) == {"card", "email", "ip", "phone"}
    assert texts.count("<EMAIL>") == len(pii["email"]) and "<CARD>" in texts


def test_documents_carry_their_record_offset(web_run, demo_dir):
    """``warc_offset`` is the record's gzip member: reading from there gives that record."""
    path = demo_dir / "web" / WARC_NAME
    for row in _rows(web_run, "kept")[:5]:
        offset = int(entries_to_dict(row["metadata"])["warc_offset"])
        rec = next(read_warc(WARC_NAME, str(path), 1 << 24, start=offset))
        assert isinstance(rec, RawRecord) and rec.payload.record_id == row["id"] and rec.payload.url == row["url"]


def _terminal(run: Path) -> str:
    buf = io.StringIO()
    print_report(compute_stats(RunDir.open(run)), Console(file=buf, width=80, markup=False, emoji=False))
    return buf.getvalue()


def test_terminal_web_section(web_run, planned):
    _, pii = planned
    text = _terminal(web_run)
    assert re.search(r"50 HTML pages extracted by trafilatura [\d.]+: [\d,]+ characters of markup", text)
    assert re.search(r"request\s+│\s+54", text) and re.search(r"revisit\s+│\s+1", text)
    for reason, n in (("extract.empty", 1), ("url.adult", 4), ("decontaminate.mako_quiz", 1)):
        assert re.search(rf"{re.escape(reason)}\s+│\s+{n} ", text), reason
    for kind, values in pii.items():
        assert re.search(rf"pii\.{kind}\s+│\s+{len(values)}", text)
    assert text.count("╭─ extraction: ") == 3 and text.count("╭─ redaction: ") == 3
    assert "before: visible text" in text and "after: kept text" in text
    # the redaction panels show the planted values before and the placeholders after
    panels = text[text.index("╭─ redaction: "):]
    assert "<EMAIL>" in panels and "<PHONE>" in panels and pii["phone"][0] in panels
    # the funnel has extract first, before the filters
    assert text.index("after extract") < text.index("after url") < text.index("after decontaminate")


def test_html_web_section(web_run, planned):
    _, pii = planned
    st = compute_stats(RunDir.open(web_run))
    assert '<a href="#web">Web input</a>' in _nav(st)  # the page itself: its score plots take 15 s
    web = sections.web.SECTION.html(st)
    assert "<td>response:image/png</td>" in web and "<td>decontaminate.mako_quiz</td>" in web
    extraction, redaction = web.split("<h3>Redaction", 1)
    kept = {r["id"]: r["text"] for r in _rows(web_run, "kept")}
    ids = re.findall(r'<div class="meta"><b>([^<]+)</b>', extraction)
    assert len(ids) == 3 and extraction.count('<div class="pair">') == 3
    for i in ids:  # the after side is the kept text, its length said
        assert f"after: kept text, {len(kept[i]):,} chars" in extraction
    assert re.search(r"before: visible text, [\d,]+ chars", extraction)
    assert "<mark>Navigation</mark>" in extraction or "<mark>Mako 1.1.6 Documentation" in extraction
    # redaction: the planted PII marked before, the escaped placeholders marked after
    assert redaction.count('<div class="pair">') == 3
    assert '<mark class="rep">&lt;EMAIL&gt;</mark>' in redaction and "<EMAIL>" not in redaction
    assert f"<mark>{html.escape(pii['card'][0])}</mark>" in redaction
    assert "&lt;EMAIL&gt;" not in web.split("<h3>Redaction", 1)[0]  # the extraction samples have none
    # the rejected samples of the web stages: the redirect stub's markup escaped, the
    # contaminated passage marked from the eval file
    samples = sections.rejected_samples.SECTION.html(st)
    assert '<h3 class="reason">extract.empty (1 docs)</h3>' in samples
    assert "&lt;meta http-equiv=&quot;refresh&quot;" in samples and "<meta http-equiv" not in samples
    assert "<mark>The above template, after being executed the first time" in samples
    assert '<h3 class="reason">url.adult (4 docs)</h3>' in samples


def test_without_the_input_the_section_says_so(web_run, tmp_path):
    """The run moved away from its input: counts and kept text still, "before" explained."""
    copy = tmp_path / "run"
    shutil.copytree(web_run, copy)
    s = json.loads((copy / "summary.json").read_text())
    s["inputs"] = [str(tmp_path / "gone")]
    (copy / "summary.json").write_text(json.dumps(s))
    web = sections.web.SECTION.html(compute_stats(RunDir.open(copy)))
    assert "the run&#x27;s input cannot be read again" in web and "before: visible text: not available" in web
    assert "after: kept text" in web and "<td>pii.email</td>" in web
