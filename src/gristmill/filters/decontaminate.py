"""``decontaminate``: drop documents that share a word n-gram with an evaluation set.

Training on the test set inflates every later evaluation. GPT-3 removed training documents
sharing a 13-gram with a benchmark; DataTrove and Dolma do the same. Here, with
``eval_files: [evals/mmlu.jsonl, evals/arc.parquet]`` and ``ngram: 13`` (the default), a
document that shares any 13 consecutive words with any text of those files is rejected with
reason ``decontaminate.<file stem>`` (``decontaminate.mmlu``: the first file in
``eval_files`` order that it overlaps), or only marked in ``mode: annotate``. The rejection
record carries the evidence in ``metadata``: ``decontaminate.benchmark`` (the eval file),
``decontaminate.span`` (the overlapping passage of the document, all consecutive matching
n-grams merged, cut at 1,000 characters) and ``decontaminate.span_chars`` (``start:end`` in
the text); its ``value`` and the score ``decontaminate.matches`` count the document's
n-grams found in any eval file.

**Threshold.** ``min_matches`` (default 1: any shared n-gram) is the number of matching
n-grams from which a document is rejected, declared as the rule
``decontaminate.matches >= min_matches`` so the report draws its what-if curve. The rule's
reason is the first eval file's; the others are its ``also`` reasons, because which file a
rejection names is decided by where the n-grams were found, not by the threshold.

**Normalization** (both sides alike): words are maximal runs of letters and digits
(``[^\\W_]+``; punctuation and spaces separate words, so ``don't`` is ``don t``),
lowercased, accents stripped (NFKD, combining marks dropped). That is lm-evaluation-harness's
``Janitor`` (GPT-3's method: lowercase, punctuation out, whitespace split) plus the accent
folding of DataTrove's ``simplify_text``; numbers are kept as they are (a maths benchmark's
numbers are its content).

**Short eval texts.** DataTrove makes no n-gram from an eval text shorter than ``n`` words,
so a 9-word question is never matched. We match such a text *whole*: a document containing
all of its words in a row is contaminated, as long as it has at least ``min_words`` words
(default 8, GPT-3's smallest n); shorter texts (``yes``, ``Paris``, a choice letter) would
match everything and are ignored (counted in ``index_stats``).

**Eval files.** ``.jsonl`` / ``.jsonl.gz`` / ``.json`` (one JSON object per line, or a JSON
array of objects) and ``.parquet``: each record gives the strings under ``text_fields``
(default ``["text"]``); a record with none of them gives those of the usual QA layouts,
``QA_FIELDS`` (question/answer/choices, premise/hypothesis, ctx/endings, ...), each field a
separate eval text; a list gives each string, a dict (ARC's ``choices``, SQuAD's ``answers``)
its ``text``. ``.txt``: one eval text per non-blank line. Paths are local, or URIs Arrow's
filesystems read (``s3://``, ``gs://``, ``hdfs://``), since each worker reads them in
``setup()``. A missing or unreadable file, or a record with no usable field, is a user error
naming the file and line.

**Index.** Each word is hashed once (xxh64); an n-gram's hash is a polynomial of its words'
hashes, computed for a whole document with a few numpy operations. The eval n-gram hashes
sit in one sorted ``uint64`` array per n-gram length (with the file each came from), built
once per process in ``setup()`` and cached (the chain itself is shared by a worker's
threads through ``shared.Shared``); a document's n-grams are looked up with one
``searchsorted``. ``benchmarks/decontaminate.py`` measures build time, memory and docs/s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gristmill.errors import UserError
from gristmill.filters.base import Filter, Verdict
from gristmill.filters.decontaminate_io import stem_of
from gristmill.filters.rules import Rule, Span

if TYPE_CHECKING:  # numpy is imported on first use: declaring filters stays light
    from gristmill.filters.decontaminate_index import EvalIndex
    from gristmill.schemas import Document

MAX_SPAN_CHARS = 1000


class Decontaminate(Filter):
    """Reject documents sharing an ``ngram``-word sequence with any eval text."""

    name = "decontaminate"
    version = "1"
    reasons = ()  # one per eval file, ``<file stem>``: set per instance
    reasons_note = "decontaminate.<eval file stem>, one per file in eval_files"

    def __init__(self, eval_files: list[str] | str, ngram: int = 13, text_fields: list[str] | str = ("text",),
                 min_words: int = 8, min_matches: int = 1) -> None:
        if isinstance(eval_files, str):
            eval_files = [eval_files]
        if isinstance(text_fields, str):
            text_fields = [text_fields]
        if not eval_files:
            raise ValueError("decontaminate: eval_files must name at least one file")
        if ngram < 1 or min_words < 1 or min_matches < 1:
            raise ValueError("decontaminate: ngram, min_words and min_matches must be >= 1, got "
                             f"{ngram}, {min_words}, {min_matches}")
        stems = [stem_of(f) for f in eval_files]
        dup = sorted({s for s in stems if stems.count(s) > 1})
        if dup:
            raise ValueError(f"decontaminate: eval files share the name {dup[0]!r}; reason codes "
                             "decontaminate.<file stem> must differ: rename one")
        self.eval_files = [str(f) for f in eval_files]
        self.ngram = int(ngram)
        self.text_fields = list(text_fields)
        self.min_words = int(min_words)
        self.min_matches = int(min_matches)
        self.reasons = tuple(stems)  # type: ignore[misc]
        self._index: EvalIndex | None = None

    def params(self) -> dict[str, Any]:
        return {k: v for k, v in super().params().items() if k != "reasons"}

    def rules(self) -> tuple[Rule, ...]:
        """One threshold on the n-gram count; the reason is the eval file the n-grams came
        from (the first one in ``eval_files`` order), hence the other files as ``also``."""
        return (Rule(self.reasons[0], "matches", ">=", "min_matches", also=self.reasons[1:]),)

    def setup(self) -> None:
        """Read the eval files and build (or reuse) the n-gram index."""
        if self._index is None:
            from gristmill.filters.decontaminate_index import index_for

            self._index = index_for(self.eval_files, self.ngram, self.min_words, self.text_fields)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_index": None}  # rebuilt (or found in the cache) by setup()

    def index_stats(self) -> dict[str, Any]:
        self.setup()
        return dict(self._index.stats)  # type: ignore[union-attr]

    def _hits(self, text: str) -> list[tuple[int, int, int]]:
        from gristmill.filters.decontaminate_index import word_hashes, words

        self.setup()
        ws = words(text)
        if len(ws) < min(self.ngram, self.min_words):
            return []
        return self._index.hits(word_hashes(ws))  # type: ignore[union-attr]

    def __call__(self, doc: Document) -> Verdict:
        hits = self._hits(doc.text)
        scores = {"decontaminate.matches": float(len(hits))}
        if not hits or len(hits) < self.min_matches:
            return Verdict(keep=True, scores=scores)
        file = min(f for _, _, f in hits)
        # the first passage found in that file, merged with the n-grams that continue it
        a, b = _char_spans(doc.text, [h for h in hits if h[2] == file])[0]
        span = doc.text[a:b]
        info = {"decontaminate.benchmark": self.eval_files[file],
                "decontaminate.span": span if len(span) <= MAX_SPAN_CHARS else span[:MAX_SPAN_CHARS] + " [...]",
                "decontaminate.span_chars": f"{a}:{b}"}
        return self.reject(self.reasons[file], float(len(hits)), self.min_matches, scores, info=info)

    def highlight(self, reason: str, text: str) -> tuple[list[Span], str]:
        """Every passage of ``text`` found in the eval file behind ``reason``."""
        short = reason.removeprefix(f"{self.name}.")
        if short not in self.reasons:
            return [], ""
        try:
            hits = self._hits(text)
        except UserError:
            return [], ""  # the eval files are not readable here (a report on another machine)
        file = self.reasons.index(short)
        return _char_spans(text, [h for h in hits if h[2] == file]), f"n-grams found in {self.eval_files[file]}"


def _char_spans(text: str, hits: list[tuple[int, int, int]]) -> list[Span]:
    """Character spans of the hit n-grams, consecutive and overlapping ones merged, in order."""
    from gristmill.filters.decontaminate_index import WORD

    bounds = [(m.start(), m.end()) for m in WORD.finditer(text)]
    out: list[Span] = []
    for first, length, _ in hits:
        a, b = bounds[first][0], bounds[first + length - 1][1]
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out

