"""The ``extract`` stage in Beam: HTML documents become their main text (``gristmill.extract``).

Runs for every run, between parse and normalize: with the config's ``extract`` section it uses
the chosen extractor (rejecting empty pages as ``extract.empty``), without it the ``visible``
converter, as gristmill always did. A page the extractor raises on is an error record of type
``extract_exception``, never a failed run. The extractor is built once per worker process
(``shared.Shared``, like the filter chain's models), never pickled with the DoFn.
"""

from __future__ import annotations

import hashlib
import json

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.utils import shared

from gristmill.config import ExtractConfig
from gristmill.extract import make_extractor
from gristmill.extract.document import EMPTY_REASON, extract_document, is_html
from gristmill.pipelines.beam_util import NAMESPACE
from gristmill.pipelines.transforms import ERRORS, REJECTED, doc_error
from gristmill.schemas import Document, Rejection


def extractor_spec(cfg: ExtractConfig | None) -> tuple[str, dict[str, bool]]:
    """(extractor name, options set by the config); ``visible`` without a section."""
    return ("visible", {}) if cfg is None else (cfg.extractor, cfg.options)


class _ExtractFn(beam.DoFn):
    def __init__(self, name: str, options: dict[str, bool], strict: bool) -> None:
        self.name = name
        self.options = options
        self.strict = strict
        self._tag = hashlib.sha256(json.dumps([name, options], sort_keys=True).encode()).hexdigest()
        self._shared = shared.Shared()
        self.pages = Metrics.counter(NAMESPACE, "extract.pages")
        self.empty = Metrics.counter(NAMESPACE, EMPTY_REASON)

    def setup(self):
        # Shared wants a weak-referenceable object: the extractor instance is one.
        self._extractor = self._shared.acquire(lambda: make_extractor(self.name, **self.options), tag=self._tag)

    def process(self, doc: Document):
        if not is_html(doc):
            yield doc
            return
        self.pages.inc()
        try:
            out = extract_document(doc, self._extractor, self.strict)
        except Exception as e:  # one page the library cannot handle is an error record
            yield beam.pvalue.TaggedOutput(ERRORS, doc_error(doc, "extract", e))
            return
        if isinstance(out, Rejection):
            self.empty.inc()
            yield beam.pvalue.TaggedOutput(REJECTED, out)
        else:
            yield out


class ExtractMainText(beam.PTransform):
    """Documents -> documents with HTML turned into text; rejections and errors tagged."""

    def __init__(self, cfg: ExtractConfig | None) -> None:
        super().__init__()
        self.extractor, self.options = extractor_spec(cfg)
        self.strict = cfg is not None

    def expand(self, docs):
        out = docs | "ExtractText" >> beam.ParDo(
            _ExtractFn(self.extractor, self.options, self.strict)).with_outputs(REJECTED, ERRORS, main="docs")
        return {"docs": out.docs, REJECTED: out[REJECTED], ERRORS: out[ERRORS]}
