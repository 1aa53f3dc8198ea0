"""``visible``: every visible text of the page (gristmill's converter before ``extract``).

Navigation, sidebars and footers stay in. It is what HTML documents go through when the
config has no ``extract`` section, so default outputs are those of earlier gristmill releases.
"""

from __future__ import annotations

from gristmill.extract.base import Extractor


class VisibleText(Extractor):
    name = "visible"

    def __init__(self, **options) -> None:
        super().__init__(**options)
        from gristmill.pipelines.readers import html_to_text  # imports Beam: only when built

        self._extract = html_to_text

    def extract(self, markup: str, url: str | None = None) -> str:
        return self._extract(markup)
