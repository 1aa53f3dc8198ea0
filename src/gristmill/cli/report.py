"""Subcommands of the report area: ``gristmill report`` and ``gristmill inspect``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from gristmill.errors import UserError
from gristmill.safe_text import visible

if TYPE_CHECKING:
    from rich.console import Console


def _console(width: int) -> Console:
    """The report's console: data (ids, reasons, sources, texts) may hold ``[brackets]`` and
    ``:codes:``; neither is read as markup or emoji. Data text is also escaped (``visible``)."""
    from rich.console import Console

    return Console(width=width, markup=False, emoji=False)


def _report(args: argparse.Namespace) -> int:
    from gristmill.report.run import RunDir, RunDirError

    con = _console(args.width)
    try:
        if args.compare:
            from gristmill.report.compare import compare_runs, print_compare

            a, b = (RunDir.open(p) for p in args.compare)
            print_compare(compare_runs(a, b), con)
            return 0
        if not args.input:
            raise UserError("give RUN_DIR, or --compare RUN_A RUN_B")
        from gristmill.ablate.results import is_ablation_dir

        if is_ablation_dir(args.input):  # a directory of `gristmill ablate`
            return _report_ablation(args, con)
        from gristmill.report.stats import compute_stats
        from gristmill.report.terminal import print_report

        st = compute_stats(RunDir.open(args.input))
        if args.html:
            from gristmill.report.html import write_html

            path = write_html(st, args.html)
            con.print(f"HTML report: {visible(path)}")
        if not (args.html and args.quiet):  # -q with --html: the HTML file only
            print_report(st, con)
    except RunDirError as e:
        raise UserError(str(e)) from e
    return 0


def _report_ablation(args: argparse.Namespace, con: Console) -> int:
    import json
    from pathlib import Path

    from gristmill.ablate.results import ABLATION_FILE
    from gristmill.ablate.terminal import print_summary

    if not (Path(args.input) / ABLATION_FILE).is_file():
        raise UserError(f"{visible(args.input)} is an ablation that has not finished (no "
                        f"{ABLATION_FILE}); run the same `gristmill ablate` command again to finish it")
    if args.html:
        from gristmill.ablate.page import write

        con.print(f"HTML report: {visible(write(args.input, args.html))}")
    if not (args.html and args.quiet):
        print_summary(json.loads((Path(args.input) / ABLATION_FILE).read_text()), con)
    return 0


def _inspect(args: argparse.Namespace) -> int:
    from gristmill.report.run import RunDir, RunDirError
    from gristmill.report.samples import representatives, sample_rejected
    from gristmill.report.terminal import inspect_renderables
    from gristmill.report.whatif import declared_filters

    con = _console(args.width)
    try:
        run = RunDir.open(args.input)
    except RunDirError as e:
        raise UserError(str(e)) from e
    rows, counts = sample_rejected(run, args.filter, args.reason, args.n, args.seed)
    if not counts:
        mode = next((s.get("mode") for s in run.filter_specs if s["name"] == args.filter), None)
        if mode == "annotate":
            raise UserError(f"{args.filter!r} ran in annotate mode in {visible(run.path)}: it removed nothing; "
                  f"its would-be reason is in each document's metadata 'annotate.{args.filter}' "
                  "(counts: `gristmill report`)")
        names = sorted((run.summary.get("by_filter") or {}).keys())
        raise UserError(f"no documents rejected by filter {args.filter!r} in {visible(run.path)}; "
              f"filters that rejected documents: {visible(', '.join(names)) or 'none'}")
    if not rows:
        raise UserError(f"filter {args.filter!r} rejected nothing with reason {args.reason!r}; "
              f"its reasons: {visible(', '.join(f'{r} ({n})' for r, n in counts.items()))}")
    con.print(visible(f"{args.filter}: " + ", ".join(f"{r} {n:,}" for r, n in counts.items())
                      + f"; showing {len(rows)} (seed {args.seed})"))
    filters = declared_filters(run.filter_specs)
    for panel in inspect_renderables(rows, representatives(run, rows), args.chars, filters):
        con.print(panel)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this area's subcommands to the `gristmill` parser."""
    from gristmill.cli.parser import add_operand, positive_int

    p = sub.add_parser(
        "report",
        help="what a run did: funnel, reasons, sources, duplicates, scores, errors",
        description="Summarise a run directory in the terminal (80 columns), optionally also as "
        "one self-contained HTML file with plots and what-if curves (with -q, the HTML file "
        "only); or compare two runs.",
    )
    add_operand(p, "--input", "RUN_DIR", "run directory written by `gristmill run` (or an "
                "ablation directory of `gristmill ablate`)", required=False)
    p.add_argument("--html", metavar="FILE", help="also write a self-contained HTML report")
    p.add_argument("--compare", nargs=2, metavar=("RUN_A", "RUN_B"),
                   help="compare two runs: counts per stage and reason, documents whose fate changed")
    p.add_argument("--width", type=positive_int, default=80, help="terminal width (default 80)")
    p.set_defaults(func=_report)

    q = sub.add_parser(
        "inspect",
        help="sample rejected documents of a filter, offending part highlighted",
        description="Show a seeded random sample of documents a filter (or dedup stage) removed, "
        "with reason, value and threshold; repeated lines/n-grams, special characters, removed "
        "C4 lines and the matched duplicate are highlighted.",
    )
    add_operand(q, "--input", "RUN_DIR", "run directory written by `gristmill run`")
    q.add_argument("--filter", required=True, help="filter name, e.g. word_count or minhash")
    q.add_argument("--reason", help="reason code, with or without the '<filter>.' prefix")
    q.add_argument("-n", type=positive_int, default=5, help="documents to show (default 5)")
    q.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    q.add_argument("--chars", type=positive_int, default=1200, help="characters of text shown per document")
    q.add_argument("--width", type=positive_int, default=80, help="terminal width (default 80)")
    q.set_defaults(func=_inspect)
