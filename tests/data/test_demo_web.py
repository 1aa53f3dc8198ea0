"""The demo's web crawl (``DEST/web/crawl.warc.gz``): real pages, every planned record kind,
the same bytes on every build."""

from __future__ import annotations

import json
from collections import Counter

from warcio.archiveiterator import ArchiveIterator

from gristmill.data.demo_web import DATE, WARC_NAME, adult_domains, build_crawl
from gristmill.data.web_pages import WEB_SOURCES
from gristmill.filters.url import UrlFilter


def _records(path) -> list[dict]:
    out = []
    with open(path, "rb") as f:
        for rec in ArchiveIterator(f):
            h = rec.rec_headers
            http = rec.http_headers
            out.append({"type": rec.rec_type, "url": h.get_header("WARC-Target-URI"),
                        "id": h.get_header("WARC-Record-ID"), "date": h.get_header("WARC-Date"),
                        "refers_to": h.get_header("WARC-Refers-To"),
                        "ctype": http.get_header("Content-Type") if http and rec.rec_type == "response" else None,
                        "body": rec.content_stream().read()})
    return out


def test_same_bytes_on_every_build(demo_dir, tmp_path):
    """Built again from the demo's own literature rows (as ``build_demo`` does), the crawl is
    byte-identical: fixed date, hashed ids, no gzip timestamps."""
    rows = [json.loads(x) for x in (demo_dir / "corpus" / "literature.jsonl").read_text().splitlines()]
    crawl = build_crawl(tmp_path / "web", rows)
    first = (demo_dir / "web" / WARC_NAME).read_bytes()
    assert crawl.path.read_bytes() == first
    assert 200_000 < len(first) < 2_000_000
    assert crawl.documents == 50 and sum(crawl.records.values()) == 110


def test_every_planned_record_kind(demo_dir):
    recs = _records(demo_dir / "web" / WARC_NAME)
    kinds = Counter(r["type"] if r["type"] != "response" else f"response:{r['ctype'].split(';')[0]}" for r in recs)
    assert kinds == {"warcinfo": 1, "request": 54, "response:text/html": 50, "response:text/css": 2,
                     "response:application/javascript": 1, "response:image/png": 1, "revisit": 1}
    assert len({r["id"] for r in recs}) == len(recs) and {r["date"] for r in recs} == {DATE}
    # every response follows its own request
    for prev, rec in zip(recs, recs[1:], strict=False):
        if rec["type"] == "response":
            assert prev["type"] == "request" and prev["url"] == rec["url"]
    html = [r for r in recs if r["type"] == "response" and r["ctype"].startswith("text/html")]
    # the real pages, byte for byte as the sdists ship them, at their published URLs
    mako = WEB_SOURCES["mako"].base_url
    real = {r["url"]: r["body"] for r in html if r["url"].startswith(mako) and "/assembled/" not in r["url"]}
    assert len(real) == 11 and b"Mako 1.1.6 Documentation" in real[mako + "caching.html"]
    # the revisit points at the first page's response
    (revisit,) = [r for r in recs if r["type"] == "revisit"]
    assert revisit["refers_to"] == next(r["id"] for r in html if r["url"] == revisit["url"])
    # real non-HTML files of the same sdists
    png = next(r["body"] for r in recs if r["ctype"] == "image/png")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_adult_urls_are_on_the_blocklist_and_pii_is_planted(demo_dir):
    recs = [r for r in _records(demo_dir / "web" / WARC_NAME) if r["type"] == "response"]
    domains = adult_domains()
    adult = [r["url"] for r in recs if any(d in r["url"] for d in domains)]
    assert len(adult) == 4 and any("//www." in u for u in adult)
    url = UrlFilter()
    assert [url.check(u)[0] for u in adult] == ["adult"] * 4
    assert all(url.check(r["url"])[0] is None for r in recs if r["url"] not in adult)
    contact = [r["body"].decode() for r in recs if r["url"].endswith("-contact.html")]
    assert len(contact) == 3 and any("@" in page.split("<section", 1)[1] for page in contact)


def test_datasheet_names_the_pages_packages(demo_dir):
    sheet = (demo_dir / "DATASHEET.md").read_text()
    assert f"`web/{WARC_NAME}`" in sheet
    for src in WEB_SOURCES.values():
        assert f"{src.package.name}=={src.package.version}" in sheet and src.package.sha256 in sheet
    assert all(f"`{d}`" in sheet for d in adult_domains())
    assert "| pii | 3 |" in sheet and "revisit: 1" in sheet
