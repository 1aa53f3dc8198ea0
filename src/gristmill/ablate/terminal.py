"""The ablation in the terminal: one table (what each config kept, what its models saw, how
they scored) and the findings in words (``results.sentences``)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from gristmill.ablate.results import sentences
from gristmill.safe_text import plain, visible


def _table(report: dict) -> Table:
    t = Table(title=plain(f"ablation: {report['preset']}, {report['train_tokens']:,} training tokens, "
                          f"{report['seeds']} seed(s), tokenizer {report['tokenizer']}"),
              title_justify="left", title_style="bold", pad_edge=False, show_edge=False)
    t.add_column("config", overflow="fold")
    for col in ("docs kept", "tokens kept", "epochs"):
        t.add_column(col, justify="right", no_wrap=True)
    evals = list(report["evals"])
    mcs = list(report["mc_evals"])
    for name in evals:
        t.add_column(plain(f"{name} bpb"), justify="right", no_wrap=True)
    for name in mcs:
        t.add_column(plain(f"{name} acc"), justify="right", no_wrap=True)
    for c in report["configs"]:
        cells = [plain(c["name"]), f"{c['kept_documents']:,}", f"{c['kept_tokens']:,}",
                 f"{c['epochs']:.2f}" + (" !" if c["repeats_data"] else "")]
        cells += [f"{c['eval'][n]['mean']:.4f}±{c['eval'][n]['std']:.4f}" for n in evals]
        cells += [f"{c['mc'][n]['mean']:.3f}±{c['mc'][n]['stderr']:.3f}" for n in mcs]
        t.add_row(*cells)
    return t


def print_summary(report: dict, con: Console, where: str | None = None) -> None:
    """The table, a legend line, and the findings."""
    con.print(_table(report))
    con.print(plain("bpb: mean ± std over seeds (lower is better); acc: acc_norm mean ± binomial "
                    "stderr; epochs ! = the config repeats its data"))
    for line in sentences(report):
        con.print(plain("- " + line))
    if where:
        con.print(f"results: {visible(where)}")
