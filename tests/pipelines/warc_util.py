"""Real WARC, WET and ARC bytes for the crawl-format tests, written offline and deterministically.

Pages are the standard library's own documentation rendered by ``pydoc.HTMLDoc`` (real
docstrings in real markup). Three pages carry non-ASCII text in Windows-1252: the charset
declared in the HTTP header, only in a ``<meta>`` tag, or nowhere (left to detection). WARC
and WET files are written by warcio (one gzip member per record, as crawlers write them);
warcio writes no ARC, so ``write_arc`` writes ARC v1 records by the format's definition.
Record ids and dates are fixed, so the same call writes the same bytes.
"""

from __future__ import annotations

import gzip
import importlib
import io
import pydoc
import struct
import unicodedata
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

MODULES = ("json", "textwrap", "string", "shlex", "fnmatch", "glob", "base64", "csv", "difflib", "heapq",
           "bisect", "calendar", "colorsys", "gettext", "ipaddress", "keyword", "netrc", "operator",
           "pprint", "queue", "sched", "secrets", "statistics", "tabnanny", "uuid", "zipfile")
DATE = "2024-05-01T12:00:00Z"


def doc_page(module: str) -> str:
    """The pydoc HTML page of a standard-library module (a full ``<!DOCTYPE html>`` page)."""
    mod = importlib.import_module(module)
    d = pydoc.HTMLDoc()
    return d.page(pydoc.describe(mod), d.document(mod, module))


def latin_page(title: str, meta_charset: str | None) -> str:
    """A pydoc page with a table of the accented Latin-1 letters and their Unicode names: real
    non-ASCII text that only decodes right as Windows-1252 / Latin-1."""
    rows = "".join(f"<tr><td>{chr(c)}</td><td>{unicodedata.name(chr(c)).lower()}</td></tr>\n"
                   for c in range(0xC0, 0x100) if c not in (0xD7, 0xF7))
    body = (f"<p>Les lettres accentu\u00e9es de l\u2019alphabet latin \u2014 \u00e0 \u00e9 \u00ef \u00f4 \u00fc,"
            f" \u00ab na\u00efve \u00bb, \u201ccaf\u00e9\u201d, \u00e9t\u00e9, No\u00ebl, Stra\u00dfe, \u00a3 \u20ac.</p>"
            f"<table>{rows}</table>" + pydoc.HTMLDoc().document(importlib.import_module("unicodedata")))
    page = pydoc.HTMLDoc().page(title, body)
    if meta_charset:
        page = page.replace('<meta charset="utf-8">', f'<meta charset="{meta_charset}">')
    else:
        page = page.replace('<meta charset="utf-8">', "")
    return page


def png_bytes() -> bytes:
    """A real PNG: IDLE's icon when the standard library ships it, else a 1x1 PNG built here."""
    icons = Path(pydoc.__file__).parent / "idlelib" / "Icons" / "idle_16.png"
    if icons.is_file():
        return icons.read_bytes()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b""))


@dataclass
class Page:
    """One HTTP response to archive: the body bytes and the Content-Type header."""

    url: str
    body: bytes
    content_type: str
    text_marker: str = ""  # a phrase the decoded page must contain
    record_id: str = ""


@dataclass
class Crawl:
    """What a test WARC holds, to compare the reader's output with."""

    pages: list[Page] = field(default_factory=list)  # HTML responses, in file order
    skipped: dict[str, int] = field(default_factory=dict)  # expected skipped_records


def html_pages(n: int = 6) -> list[Page]:
    """``n`` UTF-8 pydoc pages plus the three Windows-1252 pages (header / meta / undeclared)."""
    pages = [Page(f"https://docs.python.org/3/library/{m}.html", doc_page(m).encode("utf-8"),
                  "text/html; charset=utf-8", f"Python: {pydoc.describe(importlib.import_module(m))}")
             for m in MODULES[:n]]
    for how, ctype, meta in (("header", "text/html; charset=windows-1252", None),
                             ("meta", "text/html", "windows-1252"),
                             ("none", "text/html", None)):
        page = latin_page(f"Latin letters ({how})", meta)
        pages.append(Page(f"https://example.org/latin-{how}.html", page.encode("cp1252"), ctype,
                          "\u201ccaf\u00e9\u201d, \u00e9t\u00e9, No\u00ebl, Stra\u00dfe"))
    return pages


def _rid(i: int) -> str:
    return f"<urn:uuid:00000000-0000-4000-8000-{i:012d}>"


def _headers(rid: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"WARC-Record-ID": rid, "WARC-Date": DATE, **(extra or {})}


def write_warc(path: Path, pages: list[Page], *, gzip: bool = True, requests: bool = True,
               revisit: bool = True, image: bool = True, metadata: bool = True) -> Crawl:
    """A crawl of ``pages`` as a WARC: warcinfo, then per page a response (+ its request),
    then a revisit of the first page, an image response and a metadata record."""
    crawl = Crawl()
    skipped: dict[str, int] = {"warcinfo": 1}
    n = 0
    with open(path, "wb") as out:
        w = WARCWriter(out, gzip=gzip)
        info = w.create_warc_record("", "warcinfo", payload=io.BytesIO(b"software: gristmill tests\r\n"),
                                    warc_content_type="application/warc-fields",
                                    warc_headers_dict=_headers(_rid(0), {"WARC-Filename": path.name}))
        w.write_record(info)
        for page in pages:
            n += 1
            page.record_id = _rid(n)
            http = StatusAndHeaders("200 OK", [("Content-Type", page.content_type),
                                               ("Content-Length", str(len(page.body)))], protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(page.url, "response", payload=io.BytesIO(page.body),
                                                http_headers=http, warc_headers_dict=_headers(page.record_id)))
            crawl.pages.append(page)
            if requests:
                n += 1
                req = StatusAndHeaders(f"GET /{page.url.split('/', 3)[3]} HTTP/1.1",
                                       [("Host", page.url.split("/")[2])], is_http_request=True)
                w.write_record(w.create_warc_record(page.url, "request", payload=io.BytesIO(b""),
                                                    http_headers=req, warc_headers_dict=_headers(_rid(n))))
                skipped["request"] = skipped.get("request", 0) + 1
        if revisit and pages:
            n += 1
            http = StatusAndHeaders("200 OK", [("Content-Type", pages[0].content_type)], protocol="HTTP/1.1")
            w.write_record(w.create_revisit_record(pages[0].url, "sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                                                   pages[0].url, DATE, http_headers=http,
                                                   warc_headers_dict=_headers(_rid(n))))
            skipped["revisit"] = 1
        if image:
            n += 1
            png = png_bytes()
            http = StatusAndHeaders("200 OK", [("Content-Type", "image/png"), ("Content-Length", str(len(png)))],
                                    protocol="HTTP/1.1")
            w.write_record(w.create_warc_record("https://docs.python.org/3/_static/py.png", "response",
                                                payload=io.BytesIO(png), http_headers=http,
                                                warc_headers_dict=_headers(_rid(n))))
            skipped["response:image/png"] = 1
        if metadata:
            n += 1
            w.write_record(w.create_warc_record(pages[0].url if pages else "", "metadata",
                                                payload=io.BytesIO(b"fetchTimeMs: 120\r\n"),
                                                warc_content_type="application/warc-fields",
                                                warc_headers_dict=_headers(_rid(n))))
            skipped["metadata"] = 1
    crawl.skipped = dict(sorted(skipped.items()))
    return crawl


def write_wet(path: Path, texts: dict[str, str], *, gzip: bool = True) -> list[str]:
    """A WET file (warcinfo + one ``conversion`` record per url: text) like Common Crawl's;
    returns the record ids in order (numbered from 1000, apart from ``write_warc``'s)."""
    ids = []
    with open(path, "wb") as out:
        w = WARCWriter(out, gzip=gzip)
        w.write_record(w.create_warc_record("", "warcinfo", payload=io.BytesIO(b"software: gristmill tests\r\n"),
                                            warc_content_type="application/warc-fields",
                                            warc_headers_dict=_headers(_rid(999))))
        for i, (url, text) in enumerate(texts.items(), 1000):
            ids.append(_rid(i))
            w.write_record(w.create_warc_record(url, "conversion", payload=io.BytesIO(text.encode("utf-8")),
                                                warc_content_type="text/plain",
                                                warc_headers_dict=_headers(_rid(i))))
    return ids


def arc_record(url: str, http_status: str, content_type: str, body: bytes, date: str = "20240501120000") -> bytes:
    """One ARC v1 record: ``URL IP date content-type length`` then the HTTP response."""
    block = f"HTTP/1.1 {http_status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    block += body
    return f"{url} 192.0.2.1 {date} {content_type.split(';')[0]} {len(block)}\n".encode() + block + b"\n"


def write_arc(path: Path, pages: list[Page]) -> None:
    """An ``.arc.gz``: the ``filedesc://`` version block, then one gzip member per page."""
    desc = b"1 0 gristmill-tests\nURL IP-address Archive-date Content-type Archive-length\n"
    head = f"filedesc://{path.name} 0.0.0.0 20240501120000 text/plain {len(desc)}\n".encode() + desc + b"\n"
    with open(path, "wb") as out:
        out.write(gzip.compress(head, mtime=0))
        for page in pages:
            out.write(gzip.compress(arc_record(page.url, "200 OK", page.content_type, page.body), mtime=0))


def gzip_members(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each gzip member of ``data``: for corrupting one member in a test."""
    out, pos = [], 0
    while pos < len(data):
        d = zlib.decompressobj(wbits=31)
        d.decompress(data[pos:])
        end = len(data) - len(d.unused_data)
        out.append((pos, end))
        pos = end
    return out
