"""The extract stage: one document at a time (plain Python) and in Beam (rejections, errors)."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from gristmill.data.web_pages import pages
from gristmill.extract import EXTRACTORS, make_extractor
from gristmill.extract.base import Extractor
from gristmill.extract.document import extract_document, plain_text
from gristmill.pipelines.extract import _ExtractFn
from gristmill.pipelines.transforms import ERRORS, REJECTED
from gristmill.schemas import Document, Rejection

EMPTY_PAGE = "<html><head><title>x</title><script>var a = 1;</script></head><body>  </body></html>"


def _page_doc(name: str = "defs.html") -> Document:
    page = next(p for p in pages(["mako"]) if p.url.endswith("/" + name))
    return Document(name, page.html_bytes.decode(), "mako", page.url, {"format": "html"})


def test_html_becomes_main_text_with_sizes_in_metadata():
    doc = _page_doc()
    out = extract_document(doc, make_extractor("trafilatura"), strict=True)
    assert isinstance(out, Document) and out.id == doc.id and out.url == doc.url
    assert out.text.startswith("<%def> and <%block> are two tags") and "Quick Search" not in out.text
    assert out.metadata == {"format": "html", "html_chars": str(len(doc.text)), "extracted_chars": str(len(out.text))}
    assert doc.text.startswith("<!DOCTYPE")  # the input element is not changed


def test_other_documents_pass_untouched():
    doc = Document("a", "<p>literal text about tags</p>", "s", None, {"format": "wet"})
    assert extract_document(doc, make_extractor("trafilatura"), strict=True) is doc


def test_empty_page_is_rejected_with_its_markup_only_with_the_section():
    doc = Document("empty.html", EMPTY_PAGE, "s", None, {"format": "html"})
    rej = extract_document(doc, make_extractor("trafilatura"), strict=True)
    assert isinstance(rej, Rejection) and rej.stage == "extract" and rej.reason == "extract.empty"
    assert rej.doc.text == EMPTY_PAGE and rej.doc.metadata["extracted_chars"] == "0"
    # without an extract section: visible text, no new keys, the empty page left to normalize
    out = extract_document(doc, make_extractor("visible"), strict=False)
    assert isinstance(out, Document) and out.text == "" and out.metadata == {"format": "html"}
    assert plain_text(doc) == "" and plain_text(Document("t", "<p>a &amp; b</p>")) == "<p>a &amp; b</p>"


class _Crashy(Extractor):
    """Raises on one page (as a library can on a pathological page)."""

    name = "crashy-test"

    def extract(self, markup, url=None):
        if url and url.endswith("/namespaces.html"):
            raise RuntimeError("parser blew up")
        return make_extractor("resiliparse").extract(markup, url)


def test_a_crashing_extractor_is_an_error_record_not_a_failed_run(monkeypatch):
    monkeypatch.setitem(EXTRACTORS, _Crashy.name, _Crashy)
    docs = [_page_doc("defs.html"), _page_doc("namespaces.html"),
            Document("empty.html", EMPTY_PAGE, "s", None, {"format": "html"}),
            Document("plain", "plain text", "s", None, {})]
    with TestPipeline() as p:
        out = (p | beam.Create(docs)
               | beam.ParDo(_ExtractFn(_Crashy.name, {}, True)).with_outputs(REJECTED, ERRORS, main="docs"))
        assert_that(out.docs | "KeptIds" >> beam.Map(lambda d: d.id), equal_to(["defs.html", "plain"]), label="kept")
        assert_that(out[REJECTED] | beam.Map(lambda r: (r.doc.id, r.reason)),
                    equal_to([("empty.html", "extract.empty")]), label="rejected")
        assert_that(out[ERRORS] | beam.Map(lambda e: (e.error_type, "namespaces.html" in e.message,
                                                      "RuntimeError: parser blew up" in e.message)),
                    equal_to([("extract_exception", True, True)]), label="errors")
