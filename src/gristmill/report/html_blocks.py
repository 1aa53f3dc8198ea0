"""Building blocks of the HTML report's sections: escaped text, sortable tables, and sampled
documents with the part that explains their rejection marked."""

from __future__ import annotations

import html

from gristmill.report import highlight
from gristmill.report.cells import c4_counts, num, pct
from gristmill.safe_text import visible

SAMPLE_CHARS = 1500


def esc(x: object, multiline: bool = False) -> str:
    """HTML-escaped, with control and bidi characters shown as escapes (``visible``): a
    saved page carries no terminal escape sequence and no text that displays reordered."""
    return html.escape(visible(str(x), multiline), quote=True)


def table(headers: list[str], rows: list[list], cls: str = "sortable") -> str:
    """Rows of cells; a cell is a str (text) or (display, sort value) for numbers."""
    out = [f'<table class="{cls}"><thead><tr>']
    out += [f"<th>{esc(h)}</th>" for h in headers]
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>")
        for cell in row:
            if isinstance(cell, tuple):
                out.append(f'<td class="n" data-v="{esc(cell[1])}">{esc(cell[0])}</td>')
            elif isinstance(cell, int | float):
                out.append(f'<td class="n" data-v="{cell}">{esc(num(cell))}</td>')
            else:
                out.append(f"<td>{esc(cell)}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def pct_cell(n: float, d: float) -> tuple[str, float]:
    """A share as a table cell: shown as ``12.3%``, sorted by its value."""
    return pct(n, d), (100.0 * n / d if d else 0.0)


def marked(text: str, spans: list[tuple[int, int]], cls: str = "") -> str:
    out, pos = [], 0
    attr = f' class="{cls}"' if cls else ""
    for a, b in spans:
        out.append(esc(text[pos:a], multiline=True))
        out.append(f"<mark{attr}>{esc(text[a:b], multiline=True)}</mark>")
        pos = b
    out.append(esc(text[pos:], multiline=True))
    return "".join(out)


def doc_block(row: dict, rep: dict | None, filters: list | None = None) -> str:
    """A rejected document: id, source, reason, value and threshold, and its text (clipped)
    with the part the rejecting filter counted marked."""
    rep_text = rep["text"] if rep else None
    spans, label = highlight.spans_for(row["reason"], row["text"], rep_text, filters)
    piece, shifted, cut = highlight.clip(row["text"], spans, SAMPLE_CHARS)
    meta = [f"<b>{esc(row['id'])}</b>", esc(row.get("source") or "-"), esc(row["reason"])]
    if row.get("value") is not None:
        meta.append(f"value {esc(num(row['value']))}")
    if row.get("threshold") is not None:
        meta.append(f"threshold {esc(num(row['threshold']))}")
    meta.append(f"{len(row['text']):,} chars")
    if label:
        meta.append(f"marked: {esc(label)} ({len(spans)})")
    body = f'<div class="meta">{" · ".join(meta)}</div><pre>{marked(piece, shifted)}'
    body += " [...]</pre>" if cut else "</pre>"
    c4 = c4_counts(row)
    if c4:
        body += f'<div class="meta">{esc(c4)}</div>'
    return body


def duplicate_pair(row: dict, rep: dict | None) -> str:
    """A removed duplicate (left) beside the document kept in its place (right), the
    words that differ marked."""
    left = doc_block(row, rep)
    if rep is None:
        right = f'<div class="meta">representative {esc(row["duplicate_of"])} not found in this run</div>'
    else:
        rs = highlight.differing_words(rep["text"], row["text"])
        piece, shifted, cut = highlight.clip(rep["text"], rs, SAMPLE_CHARS)
        right = (f'<div class="meta"><b>{esc(rep["id"])}</b> · representative ({esc(rep["fate"])})'
                 f' · {len(rep["text"]):,} chars</div><pre>{marked(piece, shifted, "rep")}'
                 + (" [...]</pre>" if cut else "</pre>"))
    return f'<div class="pair"><div>{left}</div><div>{right}</div></div>'
