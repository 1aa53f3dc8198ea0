"""The ablation's HTML page (``gristmill report DIR --html FILE`` on an ablation directory).

The same self-contained page as a run's report (``gristmill.report.html``: inline CSS and
sortable tables, plots as PNG data URIs): the findings in words, the results table, eval bits
per byte against training tokens for each config, and the settings. Reads ``ablation.json``
and the models' ``metrics.jsonl`` only.
"""

from __future__ import annotations

import json
from pathlib import Path

from gristmill.ablate.results import ABLATION_FILE, sentences
from gristmill.report import plots
from gristmill.report.html import CSS, JS, write_page
from gristmill.report.html_blocks import esc, table

SECTIONS = [("findings", "Findings"), ("results", "Results"), ("curves", "Curves"),
            ("evals", "Eval sets"), ("settings", "Settings")]


def curves_figure(report: dict, eval_name: str | None) -> str:
    """Left: ``eval_name`` bits per byte at each eval point against training tokens (thin: one
    seed; thick: the mean over seeds). Right: each model's validation loss on its own config's
    validation split, from ``metrics.jsonl`` (nats per token: not comparable across configs
    whose filters differ, shown for the shape of training)."""
    import matplotlib.pyplot as plt  # plots set the Agg backend
    from matplotlib.ticker import EngFormatter

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    left, right = axes
    for i, cfg in enumerate(report["configs"]):
        color = plots.RULE_COLORS[i % len(plots.RULE_COLORS)] if i < 4 else f"C{i}"
        means: dict[int, list[float]] = {}
        for m in cfg["models"]:
            pts = [(p["tokens"], p["bpb"][eval_name]) for p in m["points"]
                   if eval_name and eval_name in p["bpb"]]
            if pts:
                left.plot(*zip(*pts, strict=True), color=color, alpha=0.35, linewidth=1, marker=".")
            for x, y in pts:
                means.setdefault(x, []).append(y)
            if m["val_loss"]:
                right.plot([v[1] for v in m["val_loss"]], [v[2] for v in m["val_loss"]],
                           color=color, alpha=0.6, linewidth=1)
        xs = sorted(x for x, ys in means.items() if len(ys) == len(cfg["models"]))
        if xs:
            left.plot(xs, [sum(means[x]) / len(means[x]) for x in xs], color=color, linewidth=2.2,
                      marker="o", label=cfg["name"])
        right.plot([], [], color=color, label=cfg["name"])
    left.set_title(f"{eval_name}: bits per byte (common eval)" if eval_name else "no text eval",
                   fontsize=10)
    right.set_title("validation loss on each config's own split", fontsize=10)
    for ax, ylabel in ((left, "bits per byte"), (right, "nats per token")):
        ax.set_xlabel("training tokens")
        ax.set_ylabel(ylabel)
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))
        ax.legend(fontsize=8, frameon=False)
        ax.spines[["top", "right"]].set_visible(False)
    fig.subplots_adjust(left=0.07, right=0.98, top=0.9, bottom=0.15, wspace=0.22)
    return plots.to_data_uri(fig)


def _results_table(report: dict) -> str:
    evals, mcs = list(report["evals"]), list(report["mc_evals"])
    headers = ["config", "config hash", "input", "docs kept", "tokens kept", "train-split tokens",
               "training tokens", "epochs"]
    headers += [f"{n} bpb (mean ± std)" for n in evals] + [f"{n} bpb per seed" for n in evals]
    headers += [f"{n} acc_norm (mean ± stderr)" for n in mcs]
    rows = []
    for c in report["configs"]:
        row: list = [c["name"], c["config_hash"][:12], c["input_records"], c["kept_documents"],
                     c["kept_tokens"], c["train_split_tokens"], c["train_tokens"],
                     (f"{c['epochs']:.2f}" + (" (repeats)" if c["repeats_data"] else ""), c["epochs"])]
        row += [(f"{c['eval'][n]['mean']:.4f} ± {c['eval'][n]['std']:.4f}", c["eval"][n]["mean"])
                for n in evals]
        row += [", ".join(f"{v:.4f}" for v in c["eval"][n]["bpb"]) for n in evals]
        row += [(f"{c['mc'][n]['mean']:.3f} ± {c['mc'][n]['stderr']:.3f}", c["mc"][n]["mean"])
                for n in mcs]
        rows.append(row)
    return table(headers, rows)


def render(report: dict, title: str) -> str:
    evals = list(report["evals"])
    parts = [f"<h1>gristmill ablation: {esc(title)}</h1>",
             f'<p class="meta">preset {esc(report["preset"])} · {report["train_tokens"]:,} training '
             f'tokens per model ({report["steps"]:,} steps of {report["tokens_per_step"]:,}) · '
             f'{report["seeds"]} seed(s) · tokenizer {esc(report["tokenizer"])} · compared on '
             f'{esc(report["compared_on"])}</p>',
             "<nav>" + "".join(f'<a href="#{k}">{esc(t)}</a>' for k, t in SECTIONS) + "</nav>"]
    parts.append('<section id="findings"><h2>Findings</h2><ul>')
    parts += [f"<li>{esc(s)}</li>" for s in sentences(report)] or ["<li>one config: nothing to compare</li>"]
    parts.append('</ul><p class="meta">A difference is within the seed spread when the ranges of the '
                 "per-seed values overlap: those seeds cannot say which config is better. Proxy "
                 "models this small rank data, they do not predict a large model's scores "
                 "(docs/ablations.md).</p></section>")
    parts.append('<section id="results"><h2>Results</h2>' + _results_table(report) + "</section>")
    parts.append('<section id="curves"><h2>Curves</h2>'
                 f'<img alt="eval loss against training tokens" '
                 f'src="{curves_figure(report, evals[0] if evals else None)}"></section>')
    rows = [[n, "bits per byte", d["file"], d["documents"], d["bytes"], d["sha256"][:12]]
            for n, d in report["evals"].items()]
    rows += [[n, "acc_norm", d["file"], d["items"], "", d["sha256"][:12]]
             for n, d in report["mc_evals"].items()]
    parts.append('<section id="evals"><h2>Eval sets</h2>'
                 + table(["name", "metric", "file", "documents / items", "bytes", "sha256"], rows))
    if report.get("heldout"):
        h = report["heldout"]
        parts.append(f'<p class="meta">held-out slice: {h["heldout"]:,} of {h["raw_records"]:,} raw '
                     f'documents (fraction {h["fraction"]:g}, by a hash of the id, before any '
                     f'filtering); {h["unreadable"]:,} unreadable raw records.</p>')
    parts.append("</section>")
    settings = {"model": report["model"], "train": report["train"],
                "nproc_per_node": report["nproc_per_node"], "inputs": report["inputs"]}
    parts.append('<section id="settings"><h2>Settings</h2><pre>'
                 + esc(json.dumps(settings, indent=2), multiline=True) + "</pre></section>")
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>gristmill ablation: {esc(title)}</title><style>{CSS}</style></head>"
            f"<body>{''.join(parts)}<script>{JS}</script></body></html>")


def write(ablation_dir: str | Path, path: str | Path) -> Path:
    """Render ``DIR/ablation.json`` as one HTML file at ``path``."""
    root = Path(ablation_dir)
    report = json.loads((root / ABLATION_FILE).read_text())
    return write_page(render(report, root.resolve().name), path)
