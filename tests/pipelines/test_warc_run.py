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
from gristmill.pipelines.readers import InputFile, split_file
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


def test_a_crawl_read_in_byte_ranges_gives_the_same_run(tmp_path):
    """A .warc.gz over ``input.split_bytes`` is read as ranges cut at gzip members
    (``readers.RANGE_FORMATS['warc']``, issue 18): the kept, rejected, error and skipped
    records are exactly those of the same run reading the file whole, one damaged member
    included."""
    crawl_dir = tmp_path / "crawl"
    crawl_dir.mkdir()
    warc = crawl_dir / "big.warc.gz"
    pages = html_pages(len(MODULES))
    write_warc(warc, pages)
    data = warc.read_bytes()
    start, end = gzip_members(data)[5]
    warc.write_bytes(data[: start + (end - start) // 2] + data[end:])
    ranges = split_file(InputFile(str(warc), warc.name), "auto", 4096)
    assert len(ranges) >= 3 and ranges[0].start == 0 and ranges[-1].end is None

    runs = {}
    for name, split in (("whole", 64 << 20), ("ranges", 4096)):
        (tmp_path / f"{name}.yaml").write_text(CONFIG + f"input: {{split_bytes: {split}}}\n")
        out = tmp_path / name
        assert main(["-q", "run", "--input", str(crawl_dir), "--output", str(out), "--workers", "2",
                     "--config", str(tmp_path / f"{name}.yaml")]) == 0
        s = json.loads((out / "summary.json").read_text())
        assert s["balanced"]
        runs[name] = (s["input_records"], s["kept"], s["rejected"], s["errors_by_type"], s["skipped_records"],
                      sorted(r["id"] for r in _rows(out, "kept") + _rows(out, "rejected")),
                      sorted((r["line"], r["error_type"]) for r in _rows(out, "errors")))
    assert runs["ranges"] == runs["whole"]
    assert runs["whole"][3] == {"truncated_gzip_member": 1}
