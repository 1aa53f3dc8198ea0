"""The HTML report: one self-contained file (inline CSS, inline JS, plots as data URIs).

Nothing is fetched from the network, so the file can be mailed or archived with the run.
The page is a header and nav followed by the sections of ``gristmill.report.sections``, each
drawn by its own module, in the order of the sections table. Tables with class ``sortable``
sort on a header click (a few lines of inline JS); numeric cells carry their raw value in
``data-v`` so they sort as numbers. On load the script marks ``<body data-ready
data-images-ok=N>``, which the browser test reads to know the page ran.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from gristmill.report import sections
from gristmill.report.html_blocks import esc
from gristmill.report.stats import RunStats

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

def render(st: RunStats) -> str:
    body = _header(st) + _nav(st) + "".join(_sections(st))
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>gristmill report: {esc(st.run.path.name)}</title><style>{CSS}</style></head>"
            f"<body>{body}<script>{JS}</script></body></html>")


def _header(st: RunStats) -> str:
    """The run's name and path, its config hash and the counts that sum to the input."""
    run = st.run
    h = run.summary.get("config_hash") or "?"
    return (f"<h1>gristmill report: {esc(run.path.name)}</h1>"
            f'<p class="meta">{esc(run.path)} · config {esc(h[:12])} · input '
            f"{st.input_records:,} · kept {st.kept_docs:,} · rejected {st.rejected_docs:,}"
            f" · errors {st.errors:,}"
            + (f" · tokens {run.tokens:,}" if run.tokens is not None else "") + "</p>")


def _nav(st: RunStats) -> str:
    return "<nav>" + "".join(f'<a href="#{esc(s.key)}">{esc(s.title)}</a>'
                             for s in sections.page_order(st) if s.title is not None) + "</nav>"


def _sections(st: RunStats) -> list[str]:
    """Each titled section in its own ``<section>`` with its heading; a subsection (no
    title) goes inside the section above it."""
    parts: list[str] = []
    is_open = False
    for s in sections.page_order(st):
        if s.title is not None:
            if is_open:
                parts.append("</section>")
            parts.append(f'<section id="{esc(s.key)}"><h2>{esc(s.title)}</h2>')
            is_open = True
        parts.append(s.html(st))
    if is_open:
        parts.append("</section>")
    return parts


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
