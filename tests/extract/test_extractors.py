"""The extractors on real pages (pinned Sphinx docs, ``data.web_pages``): main text found,
navigation and footer gone, options doing what they say."""

from __future__ import annotations

import statistics

import pytest

from gristmill.data.web_pages import assembled_pages, pages
from gristmill.extract import EXTRACTORS, make_extractor
from gristmill.extract.quality import token_scores

NAV = ("Quick Search", "Previous Topic", "Copyright the Mako authors", "Table of Contents")


@pytest.fixture(scope="module")
def mako():
    return {p.url.rsplit("/", 1)[1]: p for p in pages(["mako"])}


@pytest.fixture(scope="module")
def assembled():
    return list(assembled_pages(8, ["mako"]))


# What each extractor leaves of the page's boilerplate: resiliparse keeps Mako's bottom
# navigation and copyright line (a measured weakness, benchmarks/extraction.py).
LEFT = {"trafilatura": [], "resiliparse": ["Copyright the Mako authors"]}


@pytest.mark.parametrize("name", ["trafilatura", "resiliparse"])
def test_main_text_found_and_boilerplate_gone_on_real_pages(name, mako, assembled):
    ex = make_extractor(name)
    real = [token_scores(ex.extract(p.html_bytes.decode(), p.url), p.main_text) for p in mako.values()]
    assert statistics.mean(s.recall for s in real) > 0.85
    assert statistics.mean(s.precision for s in real) > 0.92
    built = [token_scores(ex.extract(p.html_bytes.decode(), p.url), p.main_text) for p in assembled]
    assert min(s.f1 for s in built) > 0.9
    page = mako["defs.html"]
    text = ex.extract(page.html_bytes.decode(), page.url)
    assert "top level def" in text and "anonymous block is available inside as well" in text
    assert [nav for nav in NAV if nav in text] == LEFT[name]


def test_visible_keeps_the_boilerplate_the_extractors_drop(mako, assembled):
    page = mako["defs.html"]
    text = make_extractor("visible").extract(page.html_bytes.decode())
    assert all(nav in text for nav in NAV)
    vis = statistics.mean(token_scores(make_extractor("visible").extract(p.html_bytes.decode()), p.main_text).precision
                          for p in assembled)
    traf = statistics.mean(token_scores(make_extractor("trafilatura").extract(p.html_bytes.decode()), p.main_text)
                           .precision for p in assembled)
    assert vis < 0.95 and traf > 0.98


def test_options_take_effect(mako):
    page = mako["runtime.html"]  # has a table ("Object Name" / "Description") and links
    markup = page.html_bytes.decode()

    def traf(**o):
        return make_extractor("trafilatura", **o).extract(markup, page.url)

    def resi(**o):
        return make_extractor("resiliparse", **o).extract(markup, page.url)

    assert "Object Name" in traf() and "Object Name" not in traf(tables=False)
    link = "](https://docs.makotemplates.org#mako.runtime.Context)"  # markdown, resolved against the url
    assert link not in traf() and link in traf(links=True)
    assert "#mako.runtime.Context" not in resi() and "#mako.runtime.Context" in resi(links=True)
    assert "Quick Search" not in resi() and "Quick Search" in resi(main_content=False)


def test_unknown_options_and_names_are_refused():
    with pytest.raises(ValueError, match="extractor resiliparse has no option.*tables"):
        make_extractor("resiliparse", tables=True)
    with pytest.raises(ValueError, match="unknown extractor 'goose'.*trafilatura, resiliparse, visible"):
        make_extractor("goose")
    with pytest.raises(ValueError, match="precision and recall"):
        make_extractor("trafilatura", precision=True, recall=True)


def test_describe_names_the_library_version():
    from importlib.metadata import version

    d = make_extractor("trafilatura", links=True).describe()
    assert d["extractor"] == "trafilatura" and d["version"] == version("trafilatura")
    assert d["options"] == {**EXTRACTORS["trafilatura"].OPTIONS, "links": True}
    assert make_extractor("resiliparse").version == version("resiliparse")
