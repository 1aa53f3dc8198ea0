"""One document through the ``extract`` stage, in plain Python (the Beam step only routes).

HTML documents (``metadata["format"] == "html"``: ``.html`` files, WARC responses) arrive
with their markup as ``text`` and leave with the extractor's main text. Every other document
passes untouched.

With an ``extract`` section (``strict``), the sizes before and after go into metadata
(``html_chars``, ``extracted_chars``: how much of each page was boilerplate) and a page with no
main text is rejected as ``extract.empty``, markup kept, so it can be inspected. Without one,
the ``visible`` converter runs and nothing else changes: an empty page is left to
``normalize.empty_text`` and no keys are added, so default outputs are those of earlier releases.
"""

from __future__ import annotations

from gristmill.extract.base import Extractor
from gristmill.schemas import Document, Rejection

HTML_FORMAT = "html"
MARKUP_KEY = "html_chars"
EXTRACTED_KEY = "extracted_chars"
EMPTY_REASON = "extract.empty"


def is_html(doc: Document) -> bool:
    return doc.metadata.get("format") == HTML_FORMAT


def extract_document(doc: Document, extractor: Extractor, strict: bool) -> Document | Rejection:
    """``doc`` (a copy when it changes) with its main text, or the rejection of an empty page.
    Exceptions from the extractor propagate: the caller makes them error records."""
    if not is_html(doc):
        return doc
    text = extractor.extract(doc.text, doc.url)
    if not strict:
        return Document(doc.id, text, doc.source, doc.url, dict(doc.metadata), dict(doc.scores))
    meta = {**doc.metadata, MARKUP_KEY: str(len(doc.text)), EXTRACTED_KEY: str(len(text))}
    if not text.strip():
        page = Document(doc.id, doc.text, doc.source, doc.url, meta, dict(doc.scores))
        return Rejection(page, stage="extract", filter="extract", reason=EMPTY_REASON, value=0.0, threshold=1.0)
    return Document(doc.id, text, doc.source, doc.url, meta, dict(doc.scores))


def plain_text(doc: Document) -> str:
    """The document's text for code outside the pipeline (held-out and evaluation texts): an
    HTML page's visible text, as the pipeline's default gives it; any other document's text."""
    if not is_html(doc):
        return doc.text
    from gristmill.pipelines.readers import html_to_text

    return html_to_text(doc.text)
