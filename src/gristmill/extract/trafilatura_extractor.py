"""``trafilatura``: main text by trafilatura's own rules; its fallbacks (readability,
jusText) only with ``fast: false``.

Option names are trafilatura's ``extract()`` arguments without the ``include_``/``favor_``
prefixes. Defaults are trafilatura's, except ``comments`` (off: user comments are not the
page's text, and DataTrove's extractor leaves them out too) and ``fast`` (on: without the
fallbacks trafilatura was 1.6-1.9x faster with the same precision and recall on every page set
of ``benchmarks/extraction.py``; see benchmarks/RESULTS.md).
"""

from __future__ import annotations

from gristmill.extract.base import Extractor


class TrafilaturaExtractor(Extractor):
    name = "trafilatura"
    package = "trafilatura"
    OPTIONS = {
        "tables": True,       # include_tables
        "comments": False,    # include_comments
        "links": False,       # include_links (as markdown-style link targets)
        "images": False,      # include_images
        "formatting": False,  # include_formatting (markdown emphasis, headings)
        "precision": False,   # favor_precision: drop more borderline text
        "recall": False,      # favor_recall: keep more borderline text
        "deduplicate": False,  # drop text segments repeated within the page (and across pages, per worker)
        "fast": True,         # skip the fallback extractors (measured: same quality, ~1.7x faster)
    }

    def __init__(self, **options) -> None:
        super().__init__(**options)
        import trafilatura

        self._extract = trafilatura.extract
        o = self.options
        if o["precision"] and o["recall"]:
            raise ValueError("extractor trafilatura: precision and recall cannot both be on")
        self._kwargs = dict(include_tables=o["tables"], include_comments=o["comments"],
                            include_links=o["links"], include_images=o["images"],
                            include_formatting=o["formatting"], favor_precision=o["precision"],
                            favor_recall=o["recall"], deduplicate=o["deduplicate"], fast=o["fast"],
                            output_format="txt", with_metadata=False)

    def extract(self, markup: str, url: str | None = None) -> str:
        return self._extract(markup, url=url, **self._kwargs) or ""
