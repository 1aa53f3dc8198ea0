"""``c4``: the C4 line cleaner (Raffel et al. 2020), as TensorFlow Datasets' ``c4_utils.py``
``clean_page`` implements it.

Each line (``str.splitlines``, stripped) goes through these steps in the reference's order:

1. a word (whitespace-separated) longer than ``max_word_length`` (1000): the line is removed;
2. citation markers ``[1]``, ``[]``, ``[edit]``, ``[citation needed]`` are cut out of the line;
3. the line does not end in ``.`` ``?`` ``!`` ``"``, or ends in ``...``: removed;
4. fewer than ``min_words_per_line`` (5) words: removed;
5. contains "lorem ipsum" (any case): the whole page is dropped;
6. contains "javascript" (any case): removed;
7. contains ``{``: the whole page is dropped;
8. contains a policy phrase ("terms of use", "privacy policy", "cookie policy",
   "uses cookies", "use of cookies", "use cookies"; any case): removed.

Lines that survive are joined with ``\\n``; if they hold fewer than ``min_sentences`` (3)
sentences (``text_units`` sentences, counted line by line) the page is dropped. As in the
reference, steps 5 and 7 only look at lines that survived steps 1-4, the first such line
decides the page's reason, and a too-long word removes its line, not the page. Scores are
computed over all lines even when the page is dropped (for ``annotate`` mode and reports).

The rewritten text is returned in ``Verdict.text``; lines and characters removed (in total and
per cause) go to ``Verdict.info`` (``doc.metadata``) and ``Verdict.scores``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from gristmill.filters import spans
from gristmill.filters.base import Filter, Verdict
from gristmill.filters.rules import Rule, Span
from gristmill.filters.text_units import count_sentences

if TYPE_CHECKING:  # Document is only annotated: declaring filters needs no pyarrow
    from gristmill.schemas import Document

END_MARKS = (".", "?", "!", '"')
ELLIPSIS = "..."
POLICY_SUBSTRINGS = (
    "terms of use",
    "privacy policy",
    "cookie policy",
    "uses cookies",
    "use of cookies",
    "use cookies",
)
_CITATION = re.compile(r"\[\d*\]|\[edit\]|\[citation needed\]")

LINE_CAUSES = ("too_long_word", "no_terminal_punct", "too_few_words", "javascript", "policy")


class C4(Filter):
    """C4's line cleaner and page rules, with the reference's thresholds."""

    name = "c4"
    version = "1"
    reasons = ("lorem_ipsum", "curly_bracket", "too_few_sentences")
    # The line cleaner rewrites the text and the page rules (lorem ipsum, a curly bracket)
    # are patterns, not thresholds: they are decided in __call__. The sentence count is a
    # threshold rule; __call__ applies it after cleaning, as declared here.
    RULES = (
        Rule("too_few_sentences", "sentences", "<", "min_sentences", "removed_line_spans",
             "lines C4 removes"),
    )
    _PAGE_PATTERNS = {"lorem_ipsum": ("(?i)lorem ipsum", "lorem ipsum"),
                      "curly_bracket": (r"\{", "curly brackets")}

    def __init__(
        self,
        min_words_per_line: int = 5,
        min_sentences: int = 3,
        max_word_length: int = 1000,
        remove_citations: bool = True,
    ) -> None:
        if min_words_per_line < 0 or min_sentences < 0 or max_word_length < 1:
            raise ValueError("c4: min_words_per_line and min_sentences must be >= 0, max_word_length >= 1")
        self.min_words_per_line = min_words_per_line
        self.min_sentences = min_sentences
        self.max_word_length = max_word_length
        self.remove_citations = remove_citations
        self._long_word = re.compile(rf"\S{{{max_word_length + 1}}}")

    def __call__(self, doc: Document) -> Verdict:
        text = doc.text
        low = text.lower()
        # Whole-text pre-checks: most pages have none of these, so the line loop skips them.
        any_long = self._long_word.search(text) is not None
        any_cite = self.remove_citations and "[" in text
        any_lorem = "lorem ipsum" in low
        any_js = "javascript" in low
        any_curly = "{" in text
        any_policy = any(p in low for p in POLICY_SUBSTRINGS)
        check_lower = any_lorem or any_js or any_policy

        removed = dict.fromkeys(LINE_CAUSES, 0)
        kept: list[str] = []
        n_sent = 0
        min_words = self.min_words_per_line
        page_reason: str | None = None
        page_line = 0
        lines = text.splitlines()
        for i, line in enumerate(lines, 1):
            line = line.strip()
            if any_long and self._long_word.search(line):
                removed["too_long_word"] += 1
                continue
            if any_cite:
                line = _CITATION.sub("", line)
            if not line.endswith(END_MARKS) or line.endswith(ELLIPSIS):
                removed["no_terminal_punct"] += 1
                continue
            if len(line.split()) < min_words:
                removed["too_few_words"] += 1
                continue
            if check_lower or any_curly:
                line_l = line.lower() if check_lower else ""
                if any_lorem and "lorem ipsum" in line_l:
                    page_reason, page_line = page_reason or "lorem_ipsum", page_line or i
                    continue
                if any_js and "javascript" in line_l:
                    removed["javascript"] += 1
                    continue
                if any_curly and "{" in line:
                    page_reason, page_line = page_reason or "curly_bracket", page_line or i
                    continue
                if any_policy and any(p in line_l for p in POLICY_SUBSTRINGS):
                    removed["policy"] += 1
                    continue
            n_sent += count_sentences(line)
            kept.append(line)

        new_text = "\n".join(kept).strip()
        n_removed = len(lines) - len(kept)
        scores = {
            "c4.lines_removed_frac": n_removed / len(lines) if lines else 0.0,
            "c4.chars_removed_frac": (len(text) - len(new_text)) / len(text) if text else 0.0,
            "c4.sentences": float(n_sent),
        }
        info = {
            "c4.lines_removed": str(n_removed),
            "c4.chars_removed": str(len(text) - len(new_text)),
            **{f"c4.lines_removed.{k}": str(v) for k, v in removed.items() if v},
        }
        if page_reason is not None:  # value: the (1-based) line that dropped the page
            return self.reject(page_reason, page_line, None, scores, info=info)
        verdict = self.decide(scores, info=info)
        if verdict.keep and new_text != text:  # a rejected page keeps its text as it came
            verdict.text = new_text
        return verdict

    def highlight(self, reason: str, text: str) -> tuple[list[Span], str]:
        """The page rules' patterns, or the lines the cleaner removes (a declared rule)."""
        short = reason.removeprefix(f"{self.name}.")
        if short in self._PAGE_PATTERNS:
            regex, label = self._PAGE_PATTERNS[short]
            return spans.pattern(text, regex), label
        return super().highlight(reason, text)

    def removed_line_spans(self, text: str) -> list[Span]:
        """Lines the cleaner drops, found by running this filter on each line alone: C4
        records only counts, so this replays its line rules on the few documents shown."""

        from gristmill.schemas import Document

        def dropped(line: str) -> bool:
            return self(Document(id="line", text=line)).scores.get("c4.lines_removed_frac", 0.0) >= 1.0

        return spans.nonempty_lines_where(text, dropped)
