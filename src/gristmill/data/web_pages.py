"""Real HTML pages with a known main text: the gold standard for main-text extraction.

Sources (fetched from PyPI by ``data.fetch``, pinned by file name and sha256, so every machine
reads the same bytes): the Sphinx-built documentation that two source distributions ship.

- ``Mako-1.1.6.tar.gz`` (``doc/*.html``, 11 pages): the zzzeeksphinx theme; main content in
  ``<div id="docs-body">``, beside a header, a top navigation bar, a sidebar with a table of
  contents and a search form, and a bottom navigation with the copyright line.
- ``alembic-1.7.7.tar.gz`` (``docs/**/*.html``, 20 pages): Sphinx's "nature" theme; main
  content in ``<div class="body" role="main">``, beside two "related" navigation bars, a
  sidebar and a footer.

Index, search and module-index pages are left out: they have no prose to extract.

``pages()`` yields each page with the text of its main-content element (``main_text``), the
gold standard extraction is scored against. ``assembled_pages()`` yields pages built from
known real text (the demo corpus's Shakespeare and Milton, ``data.demo``) wrapped in the real
boilerplate of these pages: each is a real page whose main-content element's contents are
replaced by the known text, so the gold is exactly that text. (None of the pinned pages has a
cookie banner, so neither do the assembled ones.) Both are deterministic.

Debian's ``python3.x-doc`` pages use the same ``role="main"`` markup and ``main_text`` reads them
too; ``benchmarks/extraction.py`` may use them, tests and the demo never do (Debian pool files
are replaced between releases; these PyPI files are immutable).
"""

from __future__ import annotations

import html
import re
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser

from gristmill.data.fetch import PinnedPackage, fetch_package


@dataclass(frozen=True)
class WebSource:
    """One pinned package of HTML pages: where its pages are and where they are published."""

    package: PinnedPackage
    prefix: str  # the pages' folder inside the archive
    base_url: str  # where the project publishes the same pages


WEB_SOURCES = {
    "mako": WebSource(
        PinnedPackage("Mako", "1.1.6", "Mako-1.1.6.tar.gz",
                      "4e9e345a41924a954251b95b4b28e14a301145b544901332e658907a7464b6b2", sdist=True),
        "Mako-1.1.6/doc/",
        "https://docs.makotemplates.org/en/rel_1_1/",
    ),
    "alembic": WebSource(
        PinnedPackage("alembic", "1.7.7", "alembic-1.7.7.tar.gz",
                      "4961248173ead7ce8a21efb3de378f13b8398e6630fab0eb258dc74a8af24c58", sdist=True),
        "alembic-1.7.7/docs/",
        "https://alembic.sqlalchemy.org/en/rel_1_7/",
    ),
}

_NOT_PROSE = {"genindex.html", "search.html", "py-modindex.html"}


@dataclass(frozen=True)
class WebPage:
    url: str
    html_bytes: bytes
    main_text: str  # the gold standard: the text of the page's main-content element


def pages(sources: Iterable[str] = tuple(WEB_SOURCES)) -> Iterator[WebPage]:
    """The real pages of ``sources`` (keys of ``WEB_SOURCES``), in archive-name order."""
    for key in sources:
        src = WEB_SOURCES[key]
        with tarfile.open(fetch_package(src.package)) as tar:
            members = sorted((m for m in tar.getmembers() if _is_page(m, src.prefix)), key=lambda m: m.name)
            for m in members:
                f = tar.extractfile(m)
                assert f is not None
                raw = f.read()
                gold = main_text(raw.decode("utf-8"))
                if gold is None:
                    raise ValueError(f"{src.package.filename}:{m.name}: no main-content element")
                yield WebPage(src.base_url + m.name[len(src.prefix):], raw, gold)


def _is_page(m: tarfile.TarInfo, prefix: str) -> bool:
    rest = m.name[len(prefix):] if m.name.startswith(prefix) else ""
    return (m.isfile() and rest.endswith(".html") and not rest.startswith(("build/", "_"))
            and rest.rsplit("/", 1)[-1] not in _NOT_PROSE)


# ---------------------------------------------------------------------------------------------
# the main-content element


def is_main(tag: str, attrs: dict[str, str | None]) -> bool:
    """The main-content element of a Sphinx page: ``div#docs-body`` (zzzeeksphinx) or the
    element with ``role="main"`` (Sphinx's basic themes, the Python docs)."""
    return tag == "div" and (attrs.get("id") == "docs-body" or attrs.get("role") == "main")


_BLOCK = {"p", "div", "section", "h1", "h2", "h3", "h4", "h5", "h6", "li", "pre", "tr", "dt", "dd",
          "table", "blockquote", "br", "ul", "ol", "dl", "hr", "td", "th", "caption", "figure"}
_VOID = {"br", "hr", "img", "input", "meta", "link", "wbr", "col", "area", "base", "embed", "source"}
_SKIP = {"script", "style", "template"}


class _Main(HTMLParser):
    """Finds the first main-content element: its text and the character span of its contents.

    Depth is counted on the element's own tag only (Sphinx closes every ``div``), so HTML's
    implicit end tags (``<p>``, ``<li>``) cannot unbalance it."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self._lines = [0]
        for m in re.finditer("\n", text):
            self._lines.append(m.end())
        self.tag: str | None = None
        self.depth = 0
        self.done = False
        self.parts: list[str] = []
        self.span: tuple[int, int] | None = None
        self._start = 0
        self._skip = 0  # inside script/style or a Sphinx permalink (``a.headerlink``)

    def _offset(self) -> int:
        line, col = self.getpos()
        return self._lines[line - 1] + col

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.done:
            return
        a = dict(attrs)
        if self.tag is None:
            if is_main(tag, a):
                self.tag, self.depth = tag, 1
                self._start = self._offset() + len(self.get_starttag_text() or "")
            return
        if tag == self.tag:
            self.depth += 1
        if tag in _SKIP or (tag == "a" and "headerlink" in (a.get("class") or "").split()):
            self._skip += 1
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.tag is not None and not self.done and tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self.tag is None or self.done:
            return
        if tag == self.tag:
            self.depth -= 1
            if self.depth == 0:
                self.done = True
                self.span = (self._start, self._offset())
                return
        if (tag in _SKIP or tag == "a") and self._skip:
            self._skip -= 1
        if tag in _BLOCK and tag not in _VOID:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self.tag is not None and not self.done and not self._skip:
            self.parts.append(data)


def _find_main(markup: str) -> _Main:
    p = _Main(markup)
    p.feed(markup)
    p.close()
    return p


def main_text(markup: str) -> str | None:
    """The text of the page's main-content element (``is_main``), one line per block, spaces
    collapsed; None when the page has none."""
    p = _find_main(markup)
    if not p.done:
        return None
    return tidy("".join(p.parts))


def tidy(text: str) -> str:
    """Whitespace runs collapsed to one space within lines; empty lines dropped."""
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


# ---------------------------------------------------------------------------------------------
# assembled pages: known text in real boilerplate


def assembled_pages(n: int = 40, sources: Iterable[str] = tuple(WEB_SOURCES),
                    skeletons: list[WebPage] | None = None, rows: list[dict] | None = None) -> Iterator[WebPage]:
    """``n`` pages, each a real page (cycling through ``pages(sources)``) whose main-content
    element holds one known real text instead (a Shakespeare scene or ~4 KB of Milton, every
    ``k``-th of the demo's literature so all three sources appear), as a heading and paragraphs.
    Gold: that text, tidied as ``main_text`` tidies. A caller that has ``pages(sources)`` or the
    literature rows already passes them (``skeletons``, ``rows``): parsing them costs seconds."""
    from gristmill.data.demo import SOURCE_ROWS

    skeletons = list(pages(sources)) if skeletons is None else skeletons
    rows = list(SOURCE_ROWS["literature"]()) if rows is None else rows
    step = max(1, len(rows) // n)
    for i, row in enumerate(rows[::step][:n]):
        page = skeletons[i % len(skeletons)]
        markup = page.html_bytes.decode("utf-8")
        span = _find_main(markup).span
        assert span is not None  # pages() checked every page has a main element
        title = row["id"]
        body = _as_html(title, row["text"])
        out = markup[: span[0]] + body + markup[span[1]:]
        gold = tidy(title + "\n" + row["text"])
        yield WebPage(f"{page.url.rsplit('/', 1)[0]}/assembled/{_slug(title)}.html", out.encode("utf-8"), gold)


def _as_html(title: str, text: str) -> str:
    """The text as Sphinx would mark it up: a section, a heading, one ``<p>`` per paragraph
    (lines inside a paragraph kept with ``<br/>``)."""
    paras = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    body = "\n".join("<p>" + "<br/>\n".join(html.escape(ln) for ln in p.split("\n")) + "</p>" for p in paras)
    return f'\n<section id="{_slug(title)}">\n<h1>{html.escape(title)}</h1>\n{body}\n</section>\n'


def _slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")
