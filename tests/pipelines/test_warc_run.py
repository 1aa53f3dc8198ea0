"""``gristmill run`` on a crawl: a .warc.gz with responses, requests, a revisit, an image, a
metadata record and one truncated gzip member, plus a WET file. The run balances over
documents, the non-document records are counted in ``skipped_records``, and the error says
which member went wrong."""

from __future__ import annotations

import json
from collections import Counter

import pyarrow.parquet as pq
from warc_util import MODULES, gzip_members, html_pages, write_warc, write_wet

from gristmill.cli import main
from gristmill.schemas import entries_to_dict

CONFIG = """\
normalize: {}
filters:
  - name: word_count
    params: {min_words: 1000}
output: {num_shards: 2}
"""


def _rows(run, kind):
    return [r for p in sorted((run / kind).glob("*.parquet")) for r in pq.read_table(p).to_pylist()]


def test_run_on_a_crawl_balances_and_counts_skipped_records(tmp_path):
    crawl_dir = tmp_path / "crawl"
    crawl_dir.mkdir()
    warc = crawl_dir / "CC-MAIN-test.warc.gz"
    pages = html_pages(6)
    crawl = write_warc(warc, pages)
    data = warc.read_bytes()
    start, end = gzip_members(data)[3]  # the second page's response
    cut = start + (end - start) // 2
    warc.write_bytes(data[:cut] + data[end:])
    texts = {f"https://docs.python.org/3/library/{m}.html": __import__(m).__doc__ for m in MODULES[6:9]}
    write_wet(crawl_dir / "CC-MAIN-test.warc.wet.gz", texts)
    (tmp_path / "web.yaml").write_text(CONFIG)

    out = tmp_path / "run"
    assert main(["-q", "run", "--input", str(crawl_dir), "--output", str(out),
                 "--config", str(tmp_path / "web.yaml")]) == 0
    s = json.loads((out / "summary.json").read_text())

    documents = len(pages) - 1 + len(texts)  # one response lost in the cut member
    assert s["balanced"] and s["input_records"] == documents + 1
    assert (s["kept"] + s["rejected"], s["errors"]) == (documents, 1)
    assert s["errors_by_type"] == {"truncated_gzip_member": 1}
    assert s["skipped_records"] == dict(sorted((Counter(crawl.skipped) + Counter(warcinfo=1)).items()))
    assert s["skipped_records"]["request"] == len(pages) and s["skipped_records"]["revisit"] == 1

    (err,) = _rows(out, "errors")
    assert err["input_file"] == warc.name and err["line"] == start
    assert f"gzip member at offset {start}" in err["message"] and "resumed at offset" in err["message"]

    docs = _rows(out, "kept") + _rows(out, "rejected")
    by_url = {d["url"]: d for d in docs}
    assert set(by_url) == {p.url for p in pages if p is not pages[1]} | set(texts)
    latin = entries_to_dict(by_url["https://example.org/latin-header.html"]["metadata"])
    assert latin["charset"] == "cp1252" and latin["format"] == "html"
    assert "Straße" in by_url["https://example.org/latin-header.html"]["text"]
    wet = by_url[next(iter(texts))]
    assert entries_to_dict(wet["metadata"])["format"] == "wet" and wet["text"] == next(iter(texts.values())).strip()
    assert all(len(d["id"]) == 36 for d in docs)  # bare UUIDs from WARC-Record-ID
