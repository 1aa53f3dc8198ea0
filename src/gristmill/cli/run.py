"""``gristmill run``: the corpus pipeline."""

from __future__ import annotations

import argparse
import json
import logging

log = logging.getLogger("gristmill.run")


def add_progress_flag(parser: argparse.ArgumentParser) -> None:
    """``--progress-every SECONDS`` for the Beam commands (``run``, ``tokenize``)."""
    from gristmill.pipelines.progress import DEFAULT_EVERY  # standard library only: cheap

    def seconds(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
        if not value >= 0:  # also rejects nan
            raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
        return value

    parser.add_argument("--progress-every", type=seconds, default=DEFAULT_EVERY, metavar="SECONDS",
                        help=f"log a progress line every SECONDS (default {DEFAULT_EVERY:g}; a bar on "
                        "a terminal instead; 0: no progress)")


def _print_summary(s: dict, out: str) -> None:
    from rich.console import Console
    from rich.table import Table

    from gristmill.safe_text import visible

    # filter names, reasons and the path come from the config and the run: escaped, no markup
    con = Console(width=100, markup=False, emoji=False)
    out = visible(out)
    t = Table(title=f"gristmill run -> {out}", show_header=True)
    t.add_column("stage / filter", overflow="fold")
    t.add_column("reason", overflow="fold")
    t.add_column("documents", justify="right")
    t.add_row("input records", "", f"{s['input_records']:,}")
    for f, reasons in s["by_filter"].items():
        for r, n in reasons.items():
            t.add_row(visible(f), visible(r), f"{n:,}")
    for et, n in s.get("errors_by_type", {}).items():
        t.add_row("errors", visible(et), f"{n:,}")
    t.add_row("kept", "", f"{s['kept']:,}", style="bold")
    t.add_row("rejected", "", f"{s['rejected']:,}")
    t.add_row("errors", "", f"{s['errors']:,}")
    con.print(t)
    if "tokens" in s:
        con.print(f"tokens: {json.dumps(s['tokens'])}")
    ok = "yes" if s["balanced"] else "NO"
    con.print(f"input = kept + rejected + errors: {ok}; {s['timings']['total_s']:.1f} s; summary: {out}/summary.json")


def _run(args: argparse.Namespace, extra: list[str]) -> int:
    from gristmill.config import load_config
    from gristmill.pipelines.run import run_pipeline

    cfg = load_config(args.config)  # a ConfigError is a UserError: one line, exit 2 (cli.main)
    stages = [s for s in ("normalize", "dedup", "tokenize") if getattr(cfg, s) is not None]
    log.info("run: %d input(s) -> %s; config %s (%s): %d filter(s)%s; %s runner, %d worker(s)",
             len(args.input), args.output, args.config or "default", cfg.digest()[:12],
             len(cfg.filters), "".join(f", {s}" for s in stages), args.runner or "local",
             args.workers)
    s = run_pipeline(args.input, args.output, cfg, workers=args.workers, runner=args.runner,
                     overwrite=args.overwrite, extra_args=extra, progress_every=args.progress_every)
    _print_summary(s, args.output)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from gristmill.cli.parser import positive_int

    p = sub.add_parser(
        "run",
        help="run the corpus pipeline (read, normalize, filter, dedup, write[, tokenize])",
        description="Run the corpus pipeline. Beam pipeline options pass to the runner: a flag "
        "gristmill does not know is accepted if Beam's PipelineOptions define it (e.g. "
        "--job_endpoint, --project, --flink_master), otherwise it is an error; everything after "
        "a literal `--` goes to Beam unchecked.",
    )
    p.add_argument("--input", nargs="+", required=True, help="files, directories or globs (local or gs://, s3://...)")
    p.add_argument("--output", required=True, help="run directory (kept/, rejected/, errors/, summary.json)")
    p.add_argument("--config", default=None, help="pipeline YAML (default: configs/default.yaml)")
    p.add_argument("--workers", type=positive_int, default=1,
                   help="worker processes for the local runner, >= 1 (default 1)")
    p.add_argument("--runner", default=None,
                   help="Beam runner: local FnApiRunner by default; PortableRunner, DataflowRunner, FlinkRunner, SparkRunner")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output directory")
    add_progress_flag(p)
    p.set_defaults(func=_run, pass_extra=True)
