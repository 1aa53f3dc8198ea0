"""Web input: the crawl records that are not documents, what the extract, url, pii and
decontaminate stages did, and sampled pages before and after extraction and redaction.

Shown only for a run of crawl or HTML input, or one with a web stage (``web_view.is_web_run``).
The numbers come from ``summary.json`` and the documents' metadata; the "before" texts are the
pages read again from the run's input (``web_view``). Every text from the run is escaped:
``html_blocks.esc`` on the page, ``safe_text`` in the terminal.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.text import Text

from gristmill.filters.spans import merge
from gristmill.report.cells import pct
from gristmill.report.html_blocks import esc, marked, pct_cell, table
from gristmill.report.sections.base import Section
from gristmill.report.sections.web_view import Sample, Span, WebView, is_web_run, web_view
from gristmill.report.stats import RunStats
from gristmill.report.terminal_blocks import add_row
from gristmill.report.terminal_blocks import table as terminal_table
from gristmill.safe_text import plain

WEB_STAGES = ("extract", "url", "decontaminate")  # the rejecting ones (pii never rejects)
PAGE_CHARS = 1500  # of each side of an extraction sample on the page
TERMINAL_CHARS = 300  # ... in the terminal
CONTEXT = 70  # characters either side of a redaction


# ---------------------------------------------------------------------------------------------
# the parts both outputs share


def _extract_line(v: WebView) -> str:
    ex = v.extract
    who = f"{ex['extractor']} {ex.get('version', '')}".strip() if ex else "the visible-text converter"
    if not v.pages:
        return f"No HTML page reached the extract stage ({who})."
    return (f"{v.pages:,} HTML pages extracted by {who}: {v.markup_chars:,} characters of markup, "
            f"{v.extracted_chars:,} of text ({pct(v.extracted_chars, v.markup_chars)} of the markup).")


def _stage_rows(st: RunStats) -> list[tuple[str, int, int]]:
    """(reason, documents, characters) of every rejection by a web stage, in pipeline order."""
    rows = []
    for f, info in st.by_filter().items():
        if f in WEB_STAGES:
            rows += [(rs.reason, rs.docs, rs.chars) for rs in info["reasons"]]
    return rows


def around(text: str, spans: list[Span], context: int = CONTEXT) -> tuple[str, list[Span]]:
    """The parts of ``text`` within ``context`` characters of a span, joined by `` [...] ``,
    and the spans moved into that piece: a long page's redactions, all of them in view."""
    if not spans:
        return text[: 2 * context], []
    windows = merge([(max(0, a - context), min(len(text), b + context)) for a, b in spans])
    piece, out, pos = [], [], 0
    for w0, w1 in windows:
        lead = "[...] " if w0 > 0 and not piece else (" [...] " if piece else "")
        piece.append(lead)
        pos += len(lead)
        out += [(pos + a - w0, pos + b - w0) for a, b in spans if w0 <= a and b <= w1]
        piece.append(text[w0:w1])
        pos += w1 - w0
    if windows[-1][1] < len(text):
        piece.append(" [...]")
    return "".join(piece), out


def _no_blank_lines(text: str, spans: list[Span]) -> tuple[str, list[Span]]:
    """``text`` without its empty lines, the spans moved with it: the visible text of a page
    has one between every two blocks, which would double a terminal panel's height."""
    keep = [i for i, c in enumerate(text) if not (c == "\n" and i and text[i - 1] == "\n")]
    new_at = {old: new for new, old in enumerate(keep)}

    def moved(i: int) -> int:
        while i < len(text) and i not in new_at:
            i += 1
        return new_at.get(i, len(keep))

    return "".join(text[i] for i in keep), [(moved(a), moved(b)) for a, b in spans if moved(b) > moved(a)]


def _clip(text: str, spans: list[Span], limit: int) -> tuple[str, list[Span], bool]:
    """The first ``limit`` characters and the spans inside them."""
    if len(text) <= limit:
        return text, spans, False
    return text[:limit], [(a, min(b, limit)) for a, b in spans if a < limit], True


# ---------------------------------------------------------------------------------------------
# terminal


def terminal(st: RunStats) -> list[RenderableType]:
    if not is_web_run(st):
        return []
    v = web_view(st)
    out: list[RenderableType] = [plain(_extract_line(v), style="bold")]
    if v.skipped:
        t = terminal_table("Crawl records that are not documents (skipped)", "record type", "count")
        for k, n in sorted(v.skipped.items(), key=lambda kv: (-kv[1], kv[0])):
            add_row(t, k, f"{n:,}")
        out.append(t)
    stages = _stage_rows(st)
    if stages:
        t = terminal_table("Removed by web stages", "reason", "docs", "% docs", "chars")
        for reason, docs, chars in stages:
            add_row(t, reason, f"{docs:,}", pct(docs, st.input_records), f"{chars:,}")
        out.append(t)
    if v.pii_kinds:
        t = terminal_table(f"PII redacted ({v.pii_docs:,} of {v.pii_reached:,} documents)", "kind", "count")
        for k in v.pii_kinds:
            add_row(t, f"pii.{k}", f"{v.pii_counts.get(k, 0):,}")
        out.append(t)
    out += [_terminal_extraction(s) for s in v.extraction]
    out += [_terminal_redaction(s) for s in v.redaction]
    out += [plain(n, style="italic") for n in v.notes]
    return out


def _styled(text: str, spans: list[Span], style: str) -> Text:
    from gristmill.report.terminal import styled

    return styled(text, spans, style)


def _terminal_extraction(s: Sample) -> Panel:
    parts: list[RenderableType] = [plain(f"{s.url or s.id}  markup {s.markup_chars or 0:,} chars", style="bold")]
    if s.before is None:
        parts.append(plain(f"before: not available ({s.note})", style="italic"))
    else:
        piece, spans, cut = _clip(s.before, s.before_spans, TERMINAL_CHARS)
        piece, spans = _no_blank_lines(piece, spans)
        parts += [plain(f"before: visible text, {len(s.before):,} chars (struck out: dropped by extraction)",
                        style="italic"), _styled(piece + (" [...]" if cut else ""), spans, "strike")]
    piece, _, cut = _clip(s.after, [], TERMINAL_CHARS)
    parts += [plain(f"after: kept text, {len(s.after):,} chars", style="italic"),
              _styled(piece + (" [...]" if cut else ""), [], "")]
    return Panel(Group(*parts), title=plain(f"extraction: {s.id}"), title_align="left", width=80)


def _terminal_redaction(s: Sample) -> Panel:
    parts: list[RenderableType] = [plain(s.url or s.id, style="bold")]
    if s.before is None:
        parts.append(plain(f"before: not available ({s.note})", style="italic"))
    else:
        piece, spans = around(s.before, s.before_spans)
        parts += [plain(f"before: {len(s.before_spans)} found", style="italic"),
                  _styled(piece, spans, "bold black on yellow")]
    piece, spans = around(s.after, s.after_spans)
    parts += [plain(f"after: {len(s.after_spans)} placeholders", style="italic"),
              _styled(piece, spans, "bold black on cyan")]
    return Panel(Group(*parts), title=plain(f"redaction: {s.id}"), title_align="left", width=80)


# ---------------------------------------------------------------------------------------------
# page


def html(st: RunStats) -> str:
    v = web_view(st)
    parts = [f"<p>{esc(_extract_line(v))}</p>"]
    if v.skipped:
        parts += ["<h3>Crawl records that are not documents (skipped, counted apart from the input)</h3>",
                  table(["record type", "count"], [[k, n] for k, n in sorted(v.skipped.items())])]
    stages = _stage_rows(st)
    if stages:
        parts += ["<h3>Removed by web stages</h3>",
                  table(["reason", "docs", "% input", "chars"],
                        [[r, d, pct_cell(d, st.input_records), c] for r, d, c in stages])]
    if v.pii_kinds:
        parts += [f"<h3>PII redacted: {v.pii_docs:,} of the {v.pii_reached:,} documents that reached pii</h3>",
                  table(["kind", "count"], [[f"pii.{k}", v.pii_counts.get(k, 0)] for k in v.pii_kinds])]
    if v.extraction:
        parts.append("<h3>Extraction: the page's visible text (words the extractor dropped marked) and the kept text</h3>")
        parts += [_pair_extraction(s) for s in v.extraction]
    if v.redaction:
        parts.append("<h3>Redaction: the extracted text (PII marked) and the kept text (placeholders marked)</h3>")
        parts += [_pair_redaction(s) for s in v.redaction]
    parts += [f'<p class="meta">{esc(n)}</p>' for n in v.notes]
    return "".join(parts)


def _side(title: str, text: str | None, spans: list[Span], cls: str, note: str = "",
          clip: bool = True) -> str:
    if text is None:
        return f'<div class="meta">{esc(title)}: not available ({esc(note)})</div>'
    piece, shifted, cut = _clip(text, spans, PAGE_CHARS) if clip else (text, spans, False)
    return (f'<div class="meta">{esc(title)}</div>'
            f"<pre>{marked(piece, shifted, cls)}{' [...]' if cut else ''}</pre>")


def _pair_extraction(s: Sample) -> str:
    head = (f'<div class="meta"><b>{esc(s.id)}</b> · {esc(s.url or "-")} · markup '
            f"{s.markup_chars or 0:,} chars</div>")
    size = f", {len(s.before):,} chars" if s.before is not None else ""
    left = _side(f"before: visible text{size}", s.before, s.before_spans, "", s.note)
    right = _side(f"after: kept text, {len(s.after):,} chars", s.after, [], "rep")
    return f'{head}<div class="pair"><div>{left}</div><div>{right}</div></div>'


def _pair_redaction(s: Sample) -> str:
    head = f'<div class="meta"><b>{esc(s.id)}</b> · {esc(s.url or "-")}</div>'
    before = around(s.before, s.before_spans) if s.before is not None else (None, [])
    after = around(s.after, s.after_spans)
    left = _side(f"before: {len(s.before_spans)} found", before[0], before[1], "", s.note, clip=False)
    right = _side(f"after: {len(s.after_spans)} placeholders", after[0], after[1], "rep", clip=False)
    return f'{head}<div class="pair"><div>{left}</div><div>{right}</div></div>'


SECTION = Section("web", "Web input", terminal, html, is_web_run)
