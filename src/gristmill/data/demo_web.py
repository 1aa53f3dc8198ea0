"""The demo's web crawl: ``DEST/web/crawl.warc.gz``, real pages archived as a crawler would.

Written with warcio, one gzip member per record, as Common Crawl writes them; the WARC-Date is
fixed and every record id is a UUID hashed from the record's type and URL, so the same pinned
packages give the same bytes. What the crawl holds (``plan`` picks the pages; ``build_crawl``
returns what it wrote, by role and record type):

- the real Sphinx pages of the pinned Mako and alembic sdists (``data.web_pages.pages``),
  each an HTTP 200 ``response`` preceded by its ``request`` record;
- pages of known real text in the same boilerplate (``web_pages.assembled_pages``);
- the same kind of pages under URLs on real domains of the UT1 "adult" blocklist (the first
  plain entries of its sorted ``domains`` file, read from the pinned datatrove wheel the
  ``url`` filter compiles its list from), for the ``url`` filter to reject as ``url.adult``;
- pages with planted personal data (``filters.pii_eval``'s generator: e-mail, IP, phone and
  card numbers, and lookalikes that must survive) for the ``pii`` rewrite to redact;
- a near-duplicate (one paragraph fewer, under ``/en/latest/``) and an exact copy (under a
  ``?highlight=`` URL, as Sphinx's search links make them) of one page, for dedup;
- a redirect stub with no text (``extract.empty``);
- records that are not documents, counted in ``summary.json`` ``skipped_records``: the
  ``warcinfo``, the ``request`` records, real CSS, JavaScript and PNG files of the same sdists
  (``response:<type>``) and a ``revisit`` of the first page.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import re
import tarfile
import uuid
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gristmill.data.web_pages import WEB_SOURCES, WebPage, assembled_pages, pages

WARC_NAME = "crawl.warc.gz"
DATE = "2024-05-01T12:00:00Z"
HTML_TYPE = "text/html; charset=utf-8"
# Files of the sdists served as non-HTML responses: (source, path under its prefix, type).
ASSETS = (
    ("mako", "_static/docs.css", "text/css"),
    ("mako", "_static/doctools.js", "application/javascript"),
    ("mako", "_static/file.png", "image/png"),
    ("alembic", "_static/nature.css", "text/css"),
)
ASSEMBLED = 16  # assembled pages: the first ones plain, then ADULT under blocked URLs, then PII
ADULT = 4
PII_PAGES = 3
PII_SEED = 16


@dataclass
class Crawl:
    """What ``build_crawl`` wrote: the URLs of each role's HTML responses, the planted PII
    values by kind, the adult domains used, and the records written by type (as
    ``skipped_records`` names them; ``response:html`` for the pages)."""

    path: Path
    roles: dict[str, list[str]] = field(default_factory=dict)
    pii: dict[str, list[str]] = field(default_factory=dict)
    adult_domains: list[str] = field(default_factory=list)
    records: Counter = field(default_factory=Counter)

    @property
    def documents(self) -> int:
        return sum(len(v) for v in self.roles.values())


# ---------------------------------------------------------------------------------------------
# the pages


def adult_domains(n: int = ADULT) -> list[str]:
    """The first ``n`` entries of the UT1 adult ``domains`` list (sorted) that are registered
    domains of their own (``name.tld``), so ``www.<entry>`` is blocked through its parent.
    Read from the head of the list in the pinned datatrove wheel: milliseconds, no compiling."""
    from gristmill.data.fetch import fetch
    from gristmill.filters.url import candidates
    from gristmill.filters.url_lists import UT1_ARCHIVE, domain_entry

    out: list[str] = []
    with zipfile.ZipFile(fetch("datatrove")) as z, z.open(UT1_ARCHIVE) as raw, \
            tarfile.open(fileobj=raw, mode="r|gz") as tar:
        for member in tar:
            if member.name != "domains":
                continue
            f = tar.extractfile(member)
            assert f is not None
            while line := f.readline():
                d = domain_entry(line.decode("utf-8", "replace"))
                if d and re.fullmatch(r"[a-z][a-z0-9-]*\.(com|net|org)", d) and candidates(f"www.{d}")[-1] == d:
                    out.append(d)
                    if len(out) == n:
                        return out
    raise ValueError(f"{UT1_ARCHIVE}: fewer than {n} plain domains in the adult list")


def _section(page: WebPage) -> re.Match:
    """The ``<section>`` that ``assembled_pages`` put in the page's main element."""
    slug = page.url.rsplit("/", 1)[1].removesuffix(".html")
    m = re.search(rf'<section id="({re.escape(slug)})">.*?</section>', page.html_bytes.decode("utf-8"), re.S)
    assert m is not None, page.url
    return m


def _with_section(page: WebPage, url: str, lines: list[str]) -> WebPage:
    """``page`` under ``url`` with its section's heading and paragraphs replaced by ``lines``
    (the first is the heading; each other line one ``<p>``)."""
    markup = page.html_bytes.decode("utf-8")
    m = _section(page)
    body = "\n".join(f"<p>{html.escape(ln)}</p>" for ln in lines[1:])
    new = f'<section id="{m.group(1)}">\n<h1>{html.escape(lines[0])}</h1>\n{body}\n</section>'
    text = "\n".join(lines)
    return WebPage(url, (markup[: m.start()] + new + markup[m.end():]).encode("utf-8"), text)


def pii_pages(bases: list[WebPage]) -> tuple[list[WebPage], dict[str, list[str]]]:
    """``bases`` with PII and lookalikes planted in their text (``pii_eval.build``), and the
    planted PII values by kind. Same URLs with ``-contact`` before ``.html``."""
    from gristmill.filters.pii_eval import build, usable_base

    heads = [p.main_text.split("\n", 1) for p in bases]
    usable = [(p, h) for p, h in zip(bases, heads, strict=True) if len(h) == 2 and usable_base(h[1])]
    planted = build([h[1] for _, h in usable], n_docs=len(usable), seed=PII_SEED, max_chars=3000)
    out, values = [], {}
    for (page, (title, _)), lab in zip(usable, planted, strict=True):
        url = page.url.removesuffix(".html") + "-contact.html"
        out.append(_with_section(page, url, [title, *lab.text.split("\n")]))
        for s, e, kind in lab.labels:
            if not kind.startswith("keep:"):
                values.setdefault(kind, []).append(lab.text[s:e])
    return out, dict(sorted(values.items()))


def near_duplicates(page: WebPage) -> list[WebPage]:
    """Two copies of ``page``: the same bytes under a ``?highlight=`` URL (exact after
    extraction) and, under ``/en/latest/``, the page less its third paragraph (near)."""
    lines = page.main_text.split("\n")
    drop = 3 if len(lines) > 8 else len(lines) - 1
    latest = re.sub(r"/en/rel_[0-9_]+/", "/en/latest/", page.url)
    return [WebPage(page.url + "?highlight=the", page.html_bytes, page.main_text),
            _with_section(page, latest, lines[:drop] + lines[drop + 1:])]


REDIRECT = (b'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Redirecting</title>\n'
            b'<meta http-equiv="refresh" content="0; url=en/latest/"></head><body></body></html>\n')


def assets() -> Iterator[tuple[str, bytes, str]]:
    """(url, bytes, content type) of ``ASSETS``, read from the pinned sdists."""
    from gristmill.data.fetch import fetch_package

    for key, name, ctype in ASSETS:
        src = WEB_SOURCES[key]
        with tarfile.open(fetch_package(src.package)) as tar:
            f = tar.extractfile(src.prefix + name)
            assert f is not None
            yield src.base_url + name, f.read(), ctype


def plan(literature: list[dict] | None = None) -> tuple[dict[str, list[WebPage]], dict[str, list[str]], list[str]]:
    """The HTML pages of the crawl by role, the planted PII by kind and the adult domains.
    ``literature``: the demo's literature rows, when the caller has them (``data.demo``)."""
    real = list(pages())
    made = list(assembled_pages(ASSEMBLED, skeletons=real, rows=literature))
    plain, adult, pii_bases = made[: -ADULT - PII_PAGES], made[-ADULT - PII_PAGES: -PII_PAGES], made[-PII_PAGES:]
    domains = adult_domains()
    blocked = [WebPage(f"http://{'www.' if i % 2 else ''}{d}/{p.url.rsplit('/', 1)[1]}", p.html_bytes, p.main_text)
               for i, (d, p) in enumerate(zip(domains, adult, strict=True))]
    with_pii, planted = pii_pages(pii_bases)
    longest = max(plain, key=lambda p: (p.main_text.count("\n"), p.url))
    roles = {
        "real": real,
        "assembled": plain,
        "near_duplicate": near_duplicates(longest),
        "adult_url": blocked,
        "pii": with_pii,
        "empty": [WebPage(WEB_SOURCES["mako"].base_url.split("/en/")[0] + "/", REDIRECT, "")],
    }
    return roles, planted, domains


# ---------------------------------------------------------------------------------------------
# the WARC


def record_id(kind: str, url: str) -> str:
    """A record id hashed from the record's type and URL: the same crawl, the same ids."""
    return f"<urn:uuid:{uuid.UUID(bytes=hashlib.sha256(f'{kind} {url}'.encode()).digest()[:16], version=4)}>"


class _Writer:
    """warcio's writer with the crawl's fixed date and hashed ids, counting what it writes."""

    def __init__(self, out) -> None:
        from warcio.warcwriter import WARCWriter

        self.w = WARCWriter(out, gzip=True)
        self.counts: Counter = Counter()

    def _headers(self, kind: str, url: str) -> dict[str, str]:
        return {"WARC-Record-ID": record_id(kind, url), "WARC-Date": DATE}

    def warcinfo(self, name: str) -> None:
        fields = b"software: gristmill data demo\r\nformat: WARC File Format 1.0\r\n"
        self.w.write_record(self.w.create_warc_record(
            "", "warcinfo", payload=io.BytesIO(fields), warc_content_type="application/warc-fields",
            warc_headers_dict={**self._headers("warcinfo", name), "WARC-Filename": name}))
        self.counts["warcinfo"] += 1

    def request(self, url: str) -> None:
        from warcio.statusandheaders import StatusAndHeaders

        host, _, path = url.split("://", 1)[1].partition("/")
        req = StatusAndHeaders(f"GET /{path} HTTP/1.1", [("Host", host), ("User-Agent", "gristmill-demo/1.0")],
                               is_http_request=True)
        self.w.write_record(self.w.create_warc_record(url, "request", payload=io.BytesIO(b""), http_headers=req,
                                                      warc_headers_dict=self._headers("request", url)))
        self.counts["request"] += 1

    def response(self, url: str, body: bytes, ctype: str) -> None:
        from warcio.statusandheaders import StatusAndHeaders

        http = StatusAndHeaders("200 OK", [("Content-Type", ctype), ("Content-Length", str(len(body)))],
                                protocol="HTTP/1.1")
        self.w.write_record(self.w.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http,
                                                      warc_headers_dict=self._headers("response", url)))
        self.counts["response:html" if ctype.startswith("text/html") else f"response:{ctype}"] += 1

    def revisit(self, url: str, body: bytes) -> None:
        from warcio.statusandheaders import StatusAndHeaders

        http = StatusAndHeaders("200 OK", [("Content-Type", HTML_TYPE)], protocol="HTTP/1.1")
        digest = "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode()
        self.w.write_record(self.w.create_revisit_record(
            url, digest, url, DATE, http_headers=http,
            warc_headers_dict={**self._headers("revisit", url), "WARC-Refers-To": record_id("response", url)}))
        self.counts["revisit"] += 1


def build_crawl(dest: str | Path, literature: list[dict] | None = None) -> Crawl:
    """Write ``dest/crawl.warc.gz`` (``dest`` created); returns what it holds. ``literature``:
    the demo's literature rows, when the caller has them (else read again: seconds)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    roles, planted, domains = plan(literature)
    crawl = Crawl(dest / WARC_NAME, {k: [p.url for p in v] for k, v in roles.items()}, planted, domains)
    tmp = crawl.path.with_name(crawl.path.name + ".tmp")
    with open(tmp, "wb") as out:
        w = _Writer(out)
        w.warcinfo(WARC_NAME)
        for page in (p for group in roles.values() for p in group):
            w.request(page.url)
            w.response(page.url, page.html_bytes, HTML_TYPE)
        for url, body, ctype in assets():
            w.request(url)
            w.response(url, body, ctype)
        first = roles["real"][0]
        w.revisit(first.url, first.html_bytes)
    tmp.replace(crawl.path)
    crawl.records = w.counts
    return crawl
