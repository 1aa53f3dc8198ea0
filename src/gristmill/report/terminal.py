"""The terminal report and ``inspect``: rich tables that fit an 80-column terminal."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from gristmill.report import highlight, whatif
from gristmill.report.stats import RunStats
from gristmill.safe_text import plain, visible
from gristmill.schemas.records import entries_to_dict

WIDTH = 80


def pct(n: float, d: float) -> str:
    return f"{100.0 * n / d:.1f}%" if d else "-"


def num(x: float) -> str:
    """Compact number: integers with separators, floats with 4 significant digits."""
    if float(x).is_integer() and abs(x) < 1e15:
        return f"{int(x):,}"
    return f"{x:.4g}"


def short(x: float) -> str:
    """3 significant digits, for narrow score columns."""
    return f"{int(x):,}" if float(x).is_integer() and abs(x) < 1e6 else f"{x:.3g}"


def c4_title(st: RunStats) -> str:
    """C4's cleaner records its counts on every document that reaches it; in annotate mode
    it only says what it would remove."""
    mode = next((s.get("mode", "filter") for s in st.run.filter_specs if s["name"] == "c4"), None)
    if mode == "annotate":
        return "C4 line cleaning, annotate mode: would remove (not applied)"
    return "C4 line cleaning: removed from documents that reached it"


def _table(title: str, *cols: str, right_from: int = 1) -> Table:
    t = Table(title=plain(title), title_justify="left", title_style="bold", expand=False,
              pad_edge=False, show_edge=False)
    for i, c in enumerate(cols):
        t.add_column(c, justify="right" if i >= right_from else "left",
                     overflow="fold", no_wrap=i >= right_from)
    return t


def add_row(t: Table, *cells: object, style: str | None = None) -> None:
    """Add a row whose cells may hold text from the run (names, reasons, sources, ids):
    a ``str`` cell is escaped (:func:`visible`) and never read as console markup."""
    t.add_row(*(plain(c) if isinstance(c, str) else c for c in cells), style=style)


def report_renderables(st: RunStats) -> list:
    run = st.run
    out: list = []
    head = Text()
    head.append(f"gristmill report: {visible(run.path)}\n", style="bold")
    h = run.summary.get("config_hash")
    head.append(f"config {visible(h[:12]) if h else '?'}  ")
    head.append(f"input {st.input_records:,}  kept {st.kept_docs:,}  rejected "
                f"{st.rejected_docs:,}  errors {st.errors:,}")
    if run.tokens is not None:
        head.append(f"  tokens {run.tokens:,}")
    out.append(head)

    t = _table("Funnel", "step", "documents", "% input", "characters")
    chars = st.input_chars
    for step, n in st.funnel():
        if step.startswith("after "):
            chars -= st.by_filter()[step[6:]]["chars"]
        add_row(t, step, f"{n:,}", pct(n, st.input_records),
                f"{chars:,}" if step not in ("input records",) else f"{st.input_chars:,}")
    if run.tokens is not None:
        add_row(t, "tokens (shards)", f"{run.tokens:,}", "", "")
    out.append(t)

    t = _table("Removed, by filter and reason", "reason", "docs", "% docs", "chars", "% chars")
    for f, info in st.by_filter().items():
        add_row(t, plain(f"{f} ({info['stage']})", style="bold"), f"{info['docs']:,}",
                pct(info["docs"], st.input_records), f"{info['chars']:,}",
                pct(info["chars"], st.input_chars))
        for rs in info["reasons"]:
            add_row(t, "  " + rs.reason.split(".", 1)[-1], f"{rs.docs:,}",
                    pct(rs.docs, st.input_records), f"{rs.chars:,}", pct(rs.chars, st.input_chars))
    out.append(t)

    if st.annotated:
        t = _table("Annotate-mode filters (would have removed)", "reason", "docs")
        for r, n in sorted(st.annotated.items()):
            add_row(t, r, f"{n:,}")
        out.append(t)
    if st.metadata_sums:
        t = _table(c4_title(st), "metadata key", "total")
        for k, v in sorted(st.metadata_sums.items()):
            add_row(t, k, num(v))
        out.append(t)

    t = _table("By source", "source", "input", "kept", "% kept", "rejected", "top filter")
    for s, row in st.by_source.items():
        top = row["by_filter"].most_common(1)
        add_row(t, s or "(none)", f"{row['input']:,}", f"{row['kept']:,}",
                pct(row["kept"], row["input"]), f"{row['rejected']:,}",
                f"{top[0][0]} {top[0][1]:,}" if top else "")
    out.append(t)

    dd = dedup_table(st)
    if dd:
        t = _table("Duplicates", "stage", "removed", "clusters", "mean size", "max size",
                   "mean sim")
        for row in dd:
            add_row(t, row["filter"], f"{row['removed']:,}", f"{row['clusters']:,}",
                    f"{row['mean_size']:.2f}", f"{row['max_size']:,}", row["mean_sim"])
        out.append(t)

    if st.scores:
        t = _table("Scores (all documents that reached the filter)", "filter / score", "n",
                   "mean", "p5", "p50", "p95")
        last = None
        for key in st.score_keys():
            s = whatif.summary(st.scores[key])
            if not s["n"]:
                continue
            f, _, metric = key.partition(".")
            if f != last:
                add_row(t, plain(f, style="bold"), "", "", "", "", "")
                last = f
            add_row(t, "  " + (metric or key), f"{s['n']:,}", short(s["mean"]), short(s["p5"]),
                    short(s["p50"]), short(s["p95"]))
        out.append(t)

    rules = whatif.rules(st)
    if rules:
        t = _table("Rules (each alone, over documents that reached it)", "rule", "docs",
                   "% docs", "% chars")
        for rule in rules:
            c = whatif.whatif(st.scores[rule.key], rule, points=2)
            add_row(t, rule.describe().replace("removed if ", ""), f"{c.docs_at_current:,}",
                    pct(c.docs_at_current, c.docs),
                    pct(c.chars_at_current, float(st.scores[rule.key].chars.sum())))
        out.append(t)

    if st.errors_by_type:
        t = Table(title="Errors by type", title_justify="left", title_style="bold",
                  pad_edge=False, show_edge=False)
        t.add_column("type", no_wrap=True)
        t.add_column("count", justify="right", no_wrap=True)
        t.add_column("first example", no_wrap=True, overflow="ellipsis", max_width=48)
        for et, n in st.errors_by_type.most_common():
            ex = st.error_examples[et][0] if st.error_examples[et] else ""
            add_row(t, et, f"{n:,}", ex)
        out.append(t)
    return out


def dedup_table(st: RunStats) -> list[dict]:
    """Per dedup stage: documents removed, clusters (a representative and its duplicates),
    cluster sizes counting the representative, and the mean similarity of removed docs."""
    import numpy as np

    rows = []
    for f in st.filter_order():
        sizes = [n + 1 for (ff, _), n in st.clusters.items() if ff == f]
        if not sizes:
            continue
        sims = np.concatenate(st.dup_similarity.get(f) or [np.array([])])
        sims = sims[~np.isnan(sims)]
        rows.append({
            "filter": f,
            "removed": sum(sizes) - len(sizes),
            "clusters": len(sizes),
            "mean_size": sum(sizes) / len(sizes),
            "max_size": max(sizes),
            "mean_sim": f"{sims.mean():.3f}" if len(sims) else "-",
            "largest": sorted(((n + 1, rep) for (ff, rep), n in st.clusters.items() if ff == f),
                              key=lambda x: (-x[0], x[1]))[:10],
        })
    return rows


def print_report(st: RunStats, console: Console | None = None) -> None:
    con = console or Console(width=WIDTH)
    for r in report_renderables(st):
        con.print(r)
        con.print()


def styled(text: str, spans: list[tuple[int, int]], style: str = "bold black on yellow") -> Text:
    """A document's text with ``spans`` highlighted. Each piece is escaped on its own
    (:func:`visible` works per character), so the spans still cover the characters they
    named once a control character has grown into its escape."""
    t, pos = Text(), 0
    for a, b in sorted(spans):
        a = max(a, pos)  # overlapping spans: style each character once
        if b <= a:
            continue
        t.append(visible(text[pos:a], multiline=True))
        t.append(visible(text[a:b], multiline=True), style)
        pos = b
    t.append(visible(text[pos:], multiline=True))
    return t


def c4_counts(row: dict) -> str:
    """What C4's cleaner recorded about a document (it stores counts, not the lines)."""
    meta = entries_to_dict(row.get("metadata"))
    items = [f"{k[3:]} {v}" for k, v in sorted(meta.items()) if k.startswith("c4.") and v != "0"]
    return ("C4 cleaner: " + ", ".join(items)) if items else ""


def inspect_renderables(rows: list[dict], reps: dict[str, dict], limit_chars: int = 1200,
                        filters: list | None = None) -> list:
    """One panel per sampled rejected document: reason, value vs threshold, the text with its
    offending part highlighted, and for duplicates the matched document."""
    out: list = []
    for row in rows:
        rep = reps.get(row.get("duplicate_of") or "")
        rep_text = rep["text"] if rep else None
        spans, label = highlight.spans_for(row["reason"], row["text"], rep_text, filters)
        piece, shifted, cut = highlight.clip(row["text"], spans, limit_chars)
        head = Text()
        head.append(visible(row["reason"]), style="bold red")
        if row.get("value") is not None:
            head.append(f"  value {num(row['value'])}")
        if row.get("threshold") is not None:
            head.append(f"  threshold {num(row['threshold'])}")
        head.append(f"  {len(row['text']):,} chars  source {visible(row.get('source')) or '-'}")
        parts: list = [head]
        if label:
            parts.append(Text(f"highlighted: {label} ({len(spans)} spans)", style="italic"))
        parts.append(styled(piece + (" [...]" if cut else ""), shifted))
        c4 = c4_counts(row)
        if c4:
            parts.append(plain(c4, style="italic"))
        if row.get("duplicate_of"):
            parts.append(plain(f"duplicate of {row['duplicate_of']}"
                               + (f" ({rep['fate']})" if rep else " (not found in this run)"),
                               style="bold"))
            if rep:
                rep_spans = highlight.differing_words(rep["text"], row["text"])
                rp, rs, rcut = highlight.clip(rep["text"], rep_spans, limit_chars)
                parts.append(styled(rp + (" [...]" if rcut else ""), rs, "bold black on cyan"))
        # a str title would be parsed as console markup whatever the console says
        out.append(Panel(Group(*parts), title=plain(row["id"]), title_align="left", width=WIDTH))
    return out
