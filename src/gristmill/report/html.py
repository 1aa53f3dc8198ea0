"""The HTML report: one self-contained file (inline CSS, inline JS, plots as data URIs).

Nothing is fetched from the network, so the file can be mailed or archived with the run.
Tables with class ``sortable`` sort on a header click (a few lines of inline JS); numeric
cells carry their raw value in ``data-v`` so they sort as numbers. On load the script marks
``<body data-ready data-images-ok=N>``, which the browser test reads to know the page ran.
"""

from __future__ import annotations

import html
import os
import tempfile
from pathlib import Path

from gristmill.report import highlight, plots, whatif
from gristmill.report.stats import RunStats
from gristmill.report.terminal import c4_counts, c4_title, dedup_table, num, pct
from gristmill.safe_text import visible

SAMPLE_CHARS = 1500

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1200px;color:#1d2733;padding:0 16px}
h1{font-size:22px}h2{border-bottom:2px solid #dde3ea;padding-bottom:4px;margin-top:36px}
table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #dde3ea;padding:3px 8px}
th{background:#f1f4f8;cursor:pointer;user-select:none}th[data-dir=asc]::after{content:" \\25B2"}
th[data-dir=desc]::after{content:" \\25BC"}td.n{text-align:right;font-variant-numeric:tabular-nums}
pre{white-space:pre-wrap;word-break:break-word;background:#f8fafc;border:1px solid #e3e8ef;
padding:8px;max-height:360px;overflow:auto;font-size:12px}mark{background:#ffe066}
mark.rep{background:#9be3f0}.pair{display:grid;grid-template-columns:1fr 1fr;gap:12px}
.meta{color:#52606d;font-size:12px;margin-top:10px}img{max-width:100%}del{color:#8a2a2a}
nav a{margin-right:12px}.figs{display:flex;flex-wrap:wrap;gap:8px}figure{margin:0}
"""

JS = """
function gmSort(t,i,th){var b=t.tBodies[0],rows=Array.prototype.slice.call(b.rows);
var asc=th.getAttribute('data-dir')!=='asc';
t.querySelectorAll('th').forEach(function(h){h.removeAttribute('data-dir');});
rows.sort(function(r1,r2){var a=r1.cells[i],c=r2.cells[i];
var x=a.hasAttribute('data-v')?a.getAttribute('data-v'):a.textContent;
var y=c.hasAttribute('data-v')?c.getAttribute('data-v'):c.textContent;
var nx=parseFloat(x),ny=parseFloat(y);
var d=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);return asc?d:-d;});
rows.forEach(function(r){b.appendChild(r);});th.setAttribute('data-dir',asc?'asc':'desc');}
document.querySelectorAll('table.sortable').forEach(function(t){
t.querySelectorAll('th').forEach(function(th,i){th.addEventListener('click',function(){gmSort(t,i,th);});});
t.setAttribute('data-sortable','ready');});
window.addEventListener('load',function(){var ok=0;
document.querySelectorAll('img').forEach(function(im){if(im.complete&&im.naturalWidth>0)ok++;});
document.body.setAttribute('data-images-ok',String(ok));document.body.setAttribute('data-ready','1');});
"""

SECTIONS = [("funnel", "Funnel"), ("filters", "Filters and reasons"), ("scores", "Scores and what-if"),
            ("samples", "Rejected samples"), ("dedup", "Duplicates"), ("sources", "Sources"),
            ("errors", "Errors")]


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


def _pctcell(n: float, d: float) -> tuple[str, float]:
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


def _doc_block(row: dict, rep: dict | None, filters: list | None = None) -> str:
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


def _pair(row: dict, rep: dict | None) -> str:
    left = _doc_block(row, rep)
    if rep is None:
        right = f'<div class="meta">representative {esc(row["duplicate_of"])} not found in this run</div>'
    else:
        rs = highlight.differing_words(rep["text"], row["text"])
        piece, shifted, cut = highlight.clip(rep["text"], rs, SAMPLE_CHARS)
        right = (f'<div class="meta"><b>{esc(rep["id"])}</b> · representative ({esc(rep["fate"])})'
                 f' · {len(rep["text"]):,} chars</div><pre>{marked(piece, shifted, "rep")}'
                 + (" [...]</pre>" if cut else "</pre>"))
    return f'<div class="pair"><div>{left}</div><div>{right}</div></div>'


def render(st: RunStats) -> str:
    run = st.run
    by_filter = st.by_filter()
    modes = {s["name"]: s.get("mode", "filter") for s in run.filter_specs}
    filters = whatif.declared_filters(run.filter_specs)
    parts: list[str] = []
    h = run.summary.get("config_hash") or "?"
    parts.append(f"<h1>gristmill report: {esc(run.path.name)}</h1>")
    parts.append(f'<p class="meta">{esc(run.path)} · config {esc(h[:12])} · input '
                 f"{st.input_records:,} · kept {st.kept_docs:,} · rejected {st.rejected_docs:,}"
                 f" · errors {st.errors:,}"
                 + (f" · tokens {run.tokens:,}" if run.tokens is not None else "") + "</p>")
    parts.append("<nav>" + "".join(f'<a href="#{k}">{esc(t)}</a>' for k, t in SECTIONS) + "</nav>")

    # funnel
    parts.append('<section id="funnel"><h2>Funnel</h2>')
    parts.append(f'<img alt="funnel chart" src="{plots.funnel_figure(st)}">')
    rows, left_chars = [], st.input_chars
    for step, n in st.funnel():
        if step.startswith("after "):
            left_chars -= by_filter[step[6:]]["chars"]
        rows.append([step, n, _pctcell(n, st.input_records), left_chars,
                     _pctcell(left_chars, st.input_chars)])
    if run.tokens is not None:
        rows.append(["tokens (shards)", run.tokens, ("", 0), "", ("", 0)])
    parts.append(table(["step", "documents", "% input", "characters", "% chars"], rows, "funnel"))
    parts.append("</section>")

    # filters and reasons
    parts.append('<section id="filters"><h2>Filters and reasons</h2>')
    rows, reaching = [], st.input_records - st.errors
    for f, info in by_filter.items():
        for rs in info["reasons"]:
            thr = ", ".join(f"{t:g}" for t in sorted(rs.thresholds)) if rs.thresholds else "-"
            rows.append([f, info["stage"], modes.get(f, "filter"), rs.reason, rs.docs,
                         _pctcell(rs.docs, st.input_records), _pctcell(rs.docs, reaching),
                         rs.chars, _pctcell(rs.chars, st.input_chars), thr])
        reaching -= info["docs"]
    parts.append(table(["filter", "stage", "mode", "reason", "docs", "% input",
                        "% reached filter", "chars", "% input chars", "threshold"], rows))
    if st.annotated:
        parts.append("<h3>Annotate-mode filters (would have removed)</h3>")
        parts.append(table(["reason", "docs"], [[r, n] for r, n in sorted(st.annotated.items())]))
    if st.metadata_sums:
        parts.append(f"<h3>{esc(c4_title(st))}</h3>")
        parts.append(table(["metadata key", "total"], [[k, v] for k, v in
                                                       sorted(st.metadata_sums.items())]))
    parts.append("</section>")

    # scores, histograms and what-if
    parts.append('<section id="scores"><h2>Scores and what-if</h2>')
    parts.append('<p class="meta">Histograms of every stored score over the documents that '
                 "reached its filter (kept, rejected by this filter, removed by another stage), "
                 "the configured thresholds dashed. What-if curves: the share of those documents "
                 "and characters the rule alone would remove at threshold t, from stored scores "
                 "(no re-run).</p>")
    all_rules = whatif.rules(st)
    curves = {rule: whatif.whatif(st.scores[rule.key], rule) for rule in all_rules}
    summaries = {key: whatif.summary(series) for key, series in st.scores.items()}
    rrows = []
    for rule in all_rules:
        c = curves[rule]
        rrows.append([rule.filter, rule.reason or "(from params)", rule.describe(), c.docs,
                      c.docs_at_current, _pctcell(c.docs_at_current, c.docs),
                      _pctcell(c.chars_at_current, float(st.scores[rule.key].chars.sum())),
                      rule.source])
    if rrows:
        parts.append(table(["filter", "reason", "rule", "docs reaching", "removed alone",
                            "% docs", "% chars", "rule from"], rrows))
    srows = []
    for key in st.score_keys():
        s = summaries[key]
        if s["n"]:
            srows.append([key, s["n"], s["mean"], s["min"], s["p5"], s["p50"], s["p95"], s["max"]])
    parts.append(table(["score", "n", "mean", "min", "p5", "p50", "p95", "max"], srows))
    parts.append('<div class="figs">')
    for key in st.score_keys():
        series, s = st.scores[key], summaries[key]
        if s["n"] == 0 or s["min"] == s["max"]:
            continue  # a constant score (e.g. exact duplicates' similarity 1) has no shape
        krules = [r for r in all_rules if r.key == key]
        parts.append(f'<figure class="score"><img alt="scores of {esc(key)}" '
                     f'src="{plots.score_figure(series, st, krules, curves)}"></figure>')
    parts.append("</div></section>")

    # samples per reason
    parts.append('<section id="samples"><h2>Rejected samples</h2>')
    for reason in [rs.reason for info in by_filter.values() for rs in info["reasons"]]:
        rows_ = st.samples.get(reason) or []
        if not rows_ or rows_[0].get("duplicate_of"):
            continue  # duplicates are shown side by side below
        parts.append(f'<h3 class="reason">{esc(reason)} ({st.by_reason[reason].docs:,} docs)</h3>')
        parts += [_doc_block(r, None, filters) for r in rows_]
    parts.append("</section>")

    # dedup
    parts.append('<section id="dedup"><h2>Duplicates</h2>')
    dd = dedup_table(st)
    if dd:
        parts.append(table(["stage", "removed", "clusters", "mean size", "max size", "mean sim"],
                           [[d["filter"], d["removed"], d["clusters"],
                             (f"{d['mean_size']:.2f}", d["mean_size"]), d["max_size"],
                             d["mean_sim"]] for d in dd]))
        parts.append("<h3>Largest clusters</h3>")
        parts.append(table(["stage", "representative", "size"],
                           [[d["filter"], rep, n] for d in dd for n, rep in d["largest"]]))
        for reason in sorted(st.samples):
            dups = [r for r in st.samples[reason] if r.get("duplicate_of")]
            if dups:
                parts.append(f'<h3 class="reason">{esc(reason)}: removed (left) and the '
                             "document kept in its place (right)</h3>")
                parts += [_pair(r, st.representatives.get(r["duplicate_of"])) for r in dups]
    else:
        parts.append("<p>No duplicates were removed in this run.</p>")
    parts.append("</section>")

    # sources
    parts.append('<section id="sources"><h2>Sources</h2>')
    filters = list(by_filter)
    rows = []
    for s, row in st.by_source.items():
        rows.append([s or "(none)", row["input"], row["kept"], _pctcell(row["kept"], row["input"]),
                     row["rejected"], row["input_chars"], row["kept_chars"],
                     _pctcell(row["kept_chars"], row["input_chars"])]
                    + [row["by_filter"].get(f, 0) for f in filters])
    parts.append(table(["source", "input", "kept", "% kept", "rejected", "chars in",
                        "chars kept", "% chars kept"] + [f"by {f}" for f in filters], rows))
    parts.append("</section>")

    # errors
    parts.append('<section id="errors"><h2>Errors</h2>')
    if st.errors_by_type:
        parts.append(table(["type", "count", "examples"],
                           [[t, n, " | ".join(st.error_examples[t])]
                            for t, n in st.errors_by_type.most_common()]))
    else:
        parts.append("<p>No input records failed to parse.</p>")
    parts.append("</section>")

    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>gristmill report: {esc(run.path.name)}</title><style>{CSS}</style></head>"
            f"<body>{''.join(parts)}<script>{JS}</script></body></html>")


def write_html(st: RunStats, path: str | os.PathLike) -> Path:
    """Write the report atomically (temp file in the same directory, then rename)."""
    return write_page(render(st), path)


def write_page(doc: str, path: str | os.PathLike) -> Path:
    """Write an HTML page atomically (temp file in the same directory, then rename),
    readable by all as a shared report should be."""
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(doc)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a report is meant to be shared
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest.resolve()
