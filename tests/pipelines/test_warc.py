"""Crawl-format input on real WARC/WET/ARC bytes (warcio-written, pydoc pages): records,
charsets, every failure case, and byte-range splitting."""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

import pytest
from warc_util import (
    MODULES,
    Page,
    arc_record,
    doc_page,
    gzip_members,
    html_pages,
    write_arc,
    write_warc,
    write_wet,
)

from gristmill.config import InputConfig
from gristmill.pipelines.parse import parse_file, parse_or_error
from gristmill.pipelines.readers import InputFile, RawRecord, detect_format, read_file
from gristmill.pipelines.warc import SkippedRecord, read_warc, split_ranges, to_document
from gristmill.schemas import Document, ErrorRecord

LIMIT = 16 << 20


def read_all(path: Path, start: int = 0, end: int | None = None, limit: int = LIMIT) -> list:
    return list(read_warc(path.name, str(path), limit, start, end))


def split(out: list) -> tuple[list[RawRecord], Counter, list[ErrorRecord]]:
    docs = [r for r in out if isinstance(r, RawRecord)]
    skipped = Counter(r.kind for r in out if isinstance(r, SkippedRecord))
    errors = [r for r in out if isinstance(r, ErrorRecord)]
    return docs, skipped, errors


def bare(page: Page) -> str:
    return page.record_id.strip("<>").removeprefix("urn:uuid:")


@pytest.fixture(scope="module")
def pages() -> list[Page]:
    return html_pages(4)


@pytest.mark.parametrize("compressed", [True, False])
def test_html_responses_become_documents_and_the_rest_is_counted(tmp_path, pages, compressed):
    path = tmp_path / ("crawl.warc.gz" if compressed else "crawl.warc")
    crawl = write_warc(path, pages, gzip=compressed)
    docs, skipped, errors = split(read_all(path))
    assert errors == []
    assert dict(skipped) == crawl.skipped == {"metadata": 1, "request": 7, "response:image/png": 1,
                                              "revisit": 1, "warcinfo": 1}
    assert [d.payload.url for d in docs] == [p.url for p in pages]
    for raw, page in zip(docs, pages, strict=True):
        doc = to_document(raw.file, raw.payload)
        assert doc.id == bare(page) and doc.url == page.url and doc.source == path.name
        assert doc.metadata["format"] == "html" and doc.metadata["content_type"] == "text/html"
        assert doc.metadata["warc_date"] == "2024-05-01T12:00:00Z"
        assert page.text_marker in doc.text and "<html" in doc.text  # markup, for the extract stage
        assert "undecodable_bytes" not in doc.metadata


def test_charsets_header_meta_and_detection(tmp_path, pages):
    path = tmp_path / "latin.warc.gz"
    write_warc(path, pages[-3:])
    docs = [to_document(r.file, r.payload) for r in split(read_all(path))[0]]
    got = {d.url.rsplit("-", 1)[1]: (d.metadata["charset"], d.metadata["charset_source"]) for d in docs}
    assert got["header.html"] == ("cp1252", "http")
    assert got["meta.html"] == ("cp1252", "meta")
    assert got["none.html"][1] == "detected"
    for d, page in zip(docs, pages[-3:], strict=True):
        assert page.text_marker in d.text, d.url
        assert "Straße" in d.text and "undecodable_bytes" not in d.metadata


def test_undecodable_bytes_are_replaced_and_counted(tmp_path):
    body = doc_page("json").encode("utf-8").replace(b"<body>", b"<body>JSON \xff\xfe(JavaScript", 1)
    cp = "<p>Caf\u00e9 cr\u00e8me</p>".encode("cp1252") + b"\x81" + doc_page("csv").encode("utf-8")
    path = tmp_path / "bad.warc.gz"
    write_warc(path, [Page("https://docs.python.org/3/library/json.html", body, "text/html; charset=utf-8"),
                      Page("https://example.org/cp.html", cp, "text/html; charset=windows-1252")],
               requests=False, revisit=False, image=False, metadata=False)
    json_doc, cp_doc = (to_document(r.file, r.payload) for r in split(read_all(path))[0])
    assert json_doc.metadata["undecodable_bytes"] == "2"
    assert "JSON \ufffd\ufffd(JavaScript" in json_doc.text
    assert cp_doc.metadata["undecodable_bytes"] == "1" and "Caf\u00e9 cr\u00e8me" in cp_doc.text


def test_wet_conversion_records_are_text_documents(tmp_path):
    texts = {f"https://docs.python.org/3/library/{m}.html": __import__(m).__doc__ for m in MODULES[:5]}
    path = tmp_path / "crawl.wet.gz"
    ids = write_wet(path, texts)
    out = read_all(path)
    docs, skipped, errors = split(out)
    assert errors == [] and dict(skipped) == {"warcinfo": 1}
    got = [parse_or_error(r, InputConfig()) for r in docs]
    assert [d.text for d in got] == list(texts.values())  # the text exactly, no HTML conversion
    assert [d.id for d in got] == [i.strip("<>").removeprefix("urn:uuid:") for i in ids]
    assert all(d.metadata["format"] == "wet" and d.metadata["charset"] == "utf-8" for d in got)


def test_arc_records_are_read_by_warcio(tmp_path, pages):
    path = tmp_path / "old.arc.gz"
    write_arc(path, pages[:3] + [Page("https://docs.python.org/x.png", b"\x89PNG\r\n", "image/png")])
    docs, skipped, errors = split(read_all(path))
    assert errors == [] and dict(skipped) == {"arc:filedesc": 1, "response:image/png": 1}
    got = [to_document(r.file, r.payload) for r in docs]
    offsets = [a for a, _ in gzip_members(path.read_bytes())]
    assert [d.id for d in got] == [f"old.arc.gz:{o}" for o in offsets[1:4]]
    assert [d.url for d in got] == [p.url for p in pages[:3]]
    assert all(p.text_marker in d.text for d, p in zip(got, pages, strict=False))


def test_read_file_detects_crawl_names_and_parse_keeps_markup_for_extract(tmp_path, pages):
    for name in ("a.warc", "a.WARC.GZ", "a.wet", "a.wet.gz", "a.arc.gz"):
        assert detect_format(name) == "warc"
    path = tmp_path / "crawl.warc.gz"
    write_warc(path, pages[:2])
    out = list(read_file(InputFile(str(path), "crawl.warc.gz")))
    docs = [parse_or_error(r, InputConfig()) for r in out if isinstance(r, RawRecord)]
    assert all(isinstance(d, Document) for d in docs) and len(docs) == 2
    # HTML responses leave parse as markup, as .html files do: the extract stage makes text
    assert all(d.metadata["format"] == "html" for d in docs)
    assert "<table" in docs[0].text and "Bob&nbsp;Ippolito" in docs[0].text


# ---------------------------------------------------------------------------------------------
# Failures: each is one error record, and every other record is still read.


def _lie(record: bytes, delta: int) -> bytes:
    """A WARC record with its Content-Length changed by ``delta`` (the block unchanged)."""
    i = record.index(b"\r\nContent-Length: ") + 18
    j = record.index(b"\r\n", i)
    return record[:i] + str(int(record[i:j]) + delta).encode() + record[j:]


def _damage(data: bytes, how: str, compressed: bool) -> bytes:
    """``data`` (a WARC) with the second record (the first page's response) damaged ``how``."""
    if compressed:
        (s, e) = gzip_members(data)[1]
        member = data[s:e]
        bad = {"truncated": lambda: member[: len(member) // 2],
               "too_long": lambda: gzip.compress(_lie(gzip.decompress(member), 300), mtime=0),
               "too_short": lambda: gzip.compress(_lie(gzip.decompress(member), -300), mtime=0),
               "garbage": lambda: b"<html>not a gzip member</html>\n" * 5 + member}[how]()
        return data[:s] + bad + data[e:]
    s = data.index(b"WARC/1.", 10)
    e = data.index(b"WARC/1.", s + 10)
    bad = {"too_long": lambda: _lie(data[s:e], 300), "too_short": lambda: _lie(data[s:e], -300),
           "garbage": lambda: b"<html>not a WARC record</html>\r\n" * 5 + data[s:e]}[how]()
    return data[:s] + bad + data[e:]


CASES = [(True, "truncated", "truncated_gzip_member"), (True, "too_long", "content_length_mismatch"),
         (True, "too_short", "content_length_mismatch"), (True, "garbage", "garbage_between_records"),
         (False, "too_long", "content_length_mismatch"), (False, "too_short", "content_length_mismatch"),
         (False, "garbage", "garbage_between_records")]


@pytest.mark.parametrize(("compressed", "how", "error_type"), CASES)
def test_a_bad_record_is_one_error_and_the_rest_is_read(tmp_path, pages, compressed, how, error_type):
    good = tmp_path / ("good.warc.gz" if compressed else "good.warc")
    crawl = write_warc(good, pages, gzip=compressed)
    bad = tmp_path / ("bad.warc.gz" if compressed else "bad.warc")
    bad.write_bytes(_damage(good.read_bytes(), how, compressed))
    docs, skipped, errors = split(read_all(bad))
    assert [e.error_type for e in errors] == [error_type]
    assert errors[0].raw and str(errors[0].line) in errors[0].message
    lost_first_page = how != "garbage"  # garbage before a good record costs no record
    expect = [p.url for p in crawl.pages[1:]] if lost_first_page else [p.url for p in crawl.pages]
    assert [d.payload.url for d in docs] == expect
    assert dict(skipped) == crawl.skipped


def test_file_cut_in_its_last_record(tmp_path, pages):
    path = tmp_path / "cut.warc.gz"
    crawl = write_warc(path, pages, image=False, metadata=False, revisit=False, requests=False)
    data = path.read_bytes()
    path.write_bytes(data[:-100])
    docs, _, errors = split(read_all(path))
    assert [e.error_type for e in errors] == ["truncated_gzip_member"]
    assert "end of the file" in errors[0].message
    assert [d.payload.url for d in docs] == [p.url for p in crawl.pages[:-1]]
    plain = tmp_path / "cut.warc"
    write_warc(plain, pages, gzip=False, image=False, metadata=False, revisit=False, requests=False)
    plain.write_bytes(plain.read_bytes()[:-100])
    docs, _, errors = split(read_all(plain))
    assert [e.error_type for e in errors] == ["content_length_mismatch"]
    assert "file truncated" in errors[0].message and len(docs) == len(pages) - 1


def test_record_over_the_limit_is_an_error_not_held(tmp_path, pages):
    path = tmp_path / "big.warc.gz"
    write_warc(path, pages)
    docs, _, errors = split(read_all(path, limit=20_000))
    big = [p for p in pages if len(p.body) > 20_000]
    assert big and [e.error_type for e in errors] == ["record_too_large"] * len(big)
    assert len(docs) == len(pages) - len(big)


# ---------------------------------------------------------------------------------------------
# Split points: every record read exactly once over all ranges.


@pytest.mark.parametrize("corrupt", [False, True])
def test_ranges_read_every_record_exactly_once(tmp_path, corrupt):
    path = tmp_path / "many.warc.gz"
    write_warc(path, html_pages(len(MODULES)))
    members = len(gzip_members(path.read_bytes()))
    if corrupt:
        path.write_bytes(_damage(path.read_bytes(), "truncated", True))
    whole = [(type(r).__name__, getattr(r, "line", None), getattr(r, "kind", None)) for r in read_all(path)]
    size = path.stat().st_size
    for target in (1, 3_000, 20_000, size // 3, size, 10 * size):
        ranges = split_ranges(str(path), target)
        assert ranges[0][0] == 0 and ranges[-1][1] is None
        assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:], strict=False))
        got = [(type(r).__name__, getattr(r, "line", None), getattr(r, "kind", None))
               for start, end in ranges for r in read_all(path, start, end)]
        assert got == whole, target
        if target >= size:
            assert ranges == [(0, None)]
        if target == 1:
            assert len(ranges) == members


def test_uncompressed_files_are_one_range(tmp_path, pages):
    path = tmp_path / "plain.warc"
    write_warc(path, pages, gzip=False)
    assert split_ranges(str(path), 100) == [(0, None)]


def test_parse_file_leaves_non_document_records_out(tmp_path, pages):
    """Outside Beam (ablation slices, eval sets) a crawl gives its documents only: the request
    records beside them are neither documents nor errors, and never reach the parser."""
    path = tmp_path / "crawl.warc.gz"
    write_warc(path, pages[:3])
    out = list(parse_file(InputFile(str(path), "crawl.warc.gz"), InputConfig()))
    assert len(out) == 3 and all(isinstance(d, Document) for d in out)


# ---------------------------------------------------------------------------------------------
# Responses that are not documents, HTTP the parser refuses, damaged WET and ARC files.


def _response(url: str, http: bytes, rid: int) -> bytes:
    """One WARC ``response`` record around raw HTTP bytes, written by hand: warcio parses the
    HTTP it is given and refuses to write the malformed kind these tests need."""
    head = (f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:00000000-0000-4000-9000-{rid:012d}>\r\n"
            f"WARC-Date: 2024-05-01T12:00:00Z\r\nWARC-Target-URI: {url}\r\n"
            f"Content-Type: application/http; msgtype=response\r\nContent-Length: {len(http)}\r\n\r\n")
    return head.encode() + http + b"\r\n\r\n"


def _insert(data: bytes, records: list[bytes], compressed: bool) -> bytes:
    """``data`` (a WARC from ``write_warc``) with ``records`` put after its second record (the
    warcinfo and the first page), each in its own gzip member when ``compressed``."""
    if compressed:
        at = gzip_members(data)[2][0]
        return data[:at] + b"".join(gzip.compress(r, mtime=0) for r in records) + data[at:]
    at = data.index(b"WARC/1.", data.index(b"WARC/1.", 10) + 10)
    return data[:at] + b"".join(records) + data[at:]


def _http(status: str, body: bytes, *headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status}", *headers, f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@pytest.mark.parametrize("compressed", [True, False])
def test_html_responses_that_are_not_2xx_are_counted_not_documents(tmp_path, pages, compressed):
    moved = b"<html><head><title>301 Moved Permanently</title></head><body><h1>Moved</h1></body></html>"
    missing = doc_page("glob").encode("utf-8")  # a real page served with a 404: still not a document
    path = tmp_path / ("status.warc.gz" if compressed else "status.warc")
    crawl = write_warc(path, pages, gzip=compressed)
    path.write_bytes(_insert(path.read_bytes(), [
        _response("http://docs.python.org/", _http("301 Moved Permanently", moved, "Content-Type: text/html",
                                                   "Location: https://docs.python.org/"), 1),
        _response("https://docs.python.org/3/old.html", _http("302 Found", moved, "Content-Type: text/html"), 2),
        _response("https://docs.python.org/3/gone.html",
                  _http("404 Not Found", missing, "Content-Type: text/html; charset=utf-8"), 3),
    ], compressed))
    docs, skipped, errors = split(read_all(path))
    assert errors == []
    assert dict(skipped) == {**crawl.skipped, "response:http-3xx": 2, "response:http-4xx": 1}
    assert [d.payload.url for d in docs] == [p.url for p in crawl.pages]
    # ARC responses go through warcio's HTTP parsing: the same keys
    arc = tmp_path / "status.arc.gz"
    write_arc(arc, pages[:2])
    arc.write_bytes(arc.read_bytes() + gzip.compress(
        arc_record("https://docs.python.org/3/gone.html", "404 Not Found", "text/html", missing), mtime=0))
    docs, skipped, errors = split(read_all(arc))
    assert errors == [] and dict(skipped) == {"arc:filedesc": 1, "response:http-4xx": 1}
    assert [d.payload.url for d in docs] == [p.url for p in pages[:2]]


@pytest.mark.parametrize("compressed", [True, False])
def test_http_the_parser_refuses_is_one_malformed_record(tmp_path, pages, compressed):
    """FastWARC refuses an HTTP header block over its length limit and a chunked body whose chunk
    size is not hex: each is one ``malformed_record`` error and the records around it are read.
    A status line it cannot read is let through with no status: the response is counted as
    ``response:http-0xx`` (not a document, not an error)."""
    path = tmp_path / ("http.warc.gz" if compressed else "http.warc")
    crawl = write_warc(path, pages, gzip=compressed)
    body = doc_page("csv").encode("utf-8")
    path.write_bytes(_insert(path.read_bytes(), [
        _response("https://example.org/huge-header.html",
                  _http("200 OK", body, "Content-Type: text/html", "X-Padding: " + "a" * 100_000), 1),
        _response("https://example.org/chunked.html",
                  b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"zz\r\n" + body + b"\r\n0\r\n\r\n", 2),
        _response("https://example.org/status.html", b"garbled status\r\nContent-Type: text/html\r\n\r\n" + body, 3),
    ], compressed))
    docs, skipped, errors = split(read_all(path))
    assert [e.error_type for e in errors] == ["malformed_record"] * 2
    assert "header length" in errors[0].message and "chunk" in errors[1].message
    assert all(e.raw.startswith(b"WARC/1.0\r\n") for e in errors)
    if compressed:  # the offset is the member's, and the message says so
        offsets = [a for a, _ in gzip_members(path.read_bytes())]
        assert [e.line for e in errors] == offsets[2:4]
        assert errors[0].message.startswith(f"gzip member at offset {offsets[2]}: OSError")
    else:
        assert errors[0].message.startswith(f"record at offset {errors[0].line}: OSError")
        assert path.read_bytes()[errors[1].line:].startswith(b"WARC/1.0\r\nWARC-Type: response")
    assert [d.payload.url for d in docs] == [p.url for p in crawl.pages]
    assert dict(skipped) == {**crawl.skipped, "response:http-0xx": 1}


def _truncate_member(data: bytes, index: int) -> tuple[bytes, list[int]]:
    """``data`` with gzip member ``index`` cut to its first half (the others untouched), and
    where each member now starts."""
    members = gzip_members(data)
    s, e = members[index]
    lost = (e - s) - (e - s) // 2
    return data[:s] + data[s: s + (e - s) // 2] + data[e:], [a - (lost if i > index else 0)
                                                             for i, (a, _) in enumerate(members)]


def test_a_truncated_member_in_a_wet_file_is_one_error(tmp_path):
    texts = {f"https://docs.python.org/3/library/{m}.html": __import__(m).__doc__ for m in MODULES[:5]}
    path = tmp_path / "crawl.wet.gz"
    write_wet(path, texts)
    data, offsets = _truncate_member(path.read_bytes(), 3)  # the third conversion record
    path.write_bytes(data)
    docs, skipped, errors = split(read_all(path))
    assert [(e.error_type, e.line) for e in errors] == [("truncated_gzip_member", offsets[3])]
    assert errors[0].message.endswith(f"reading resumed at offset {offsets[4]}")
    want = [u for i, u in enumerate(texts) if i != 2]
    assert [d.payload.url for d in docs] == want and dict(skipped) == {"warcinfo": 1}
    got = [parse_or_error(r, InputConfig()) for r in docs]
    assert [d.text for d in got] == [t for i, t in enumerate(texts.values()) if i != 2]


def test_a_truncated_member_in_an_arc_file_is_one_error(tmp_path, pages):
    path = tmp_path / "old.arc.gz"
    write_arc(path, pages[:4])
    data, offsets = _truncate_member(path.read_bytes(), 2)  # the second page
    path.write_bytes(data)
    docs, skipped, errors = split(read_all(path))
    assert [(e.error_type, e.line) for e in errors] == [("truncated_gzip_member", offsets[2])]
    assert errors[0].message.endswith(f"reading resumed at offset {offsets[3]}")
    assert [d.payload.url for d in docs] == [p.url for i, p in enumerate(pages[:4]) if i != 1]
    assert dict(skipped) == {"arc:filedesc": 1}
    # ids are <file>:<member offset> in the damaged file, as read
    got = [to_document(r.file, r.payload) for r in docs]
    assert [d.id for d in got] == [f"old.arc.gz:{offsets[i]}" for i in (1, 3, 4)]
