"""``resiliparse``: Resiliparse's ``extract_plain_text`` with ``main_content`` heuristics
(a fast C++ DOM walk from the ChatNoir web-archive toolkit).

Option names are ``extract_plain_text``'s; defaults are its own, except ``main_content``
(on: this stage is about main text; off, it keeps all visible text like ``visible``).
"""

from __future__ import annotations

from gristmill.extract.base import Extractor


class ResiliparseExtractor(Extractor):
    name = "resiliparse"
    package = "resiliparse"
    OPTIONS = {
        "main_content": True,        # heuristics that drop navigation, headers, footers, sidebars
        "comments": True,            # treat comment sections as main content
        "links": False,              # append link target URLs
        "alt_texts": True,           # keep images' alternative texts
        "list_bullets": True,        # bullets / numbers before list items
        "preserve_formatting": True,  # line breaks for blocks, lists, <pre>
        "form_fields": False,        # text of form fields
        "noscript": False,           # contents of <noscript>
    }

    def __init__(self, **options) -> None:
        super().__init__(**options)
        from resiliparse.extract.html2text import extract_plain_text

        self._extract = extract_plain_text

    def extract(self, markup: str, url: str | None = None) -> str:
        return self._extract(markup, **self.options)
