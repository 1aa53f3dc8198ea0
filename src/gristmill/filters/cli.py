"""Subcommands of the filters area (see gristmill.cli)."""

from __future__ import annotations

import argparse
import inspect
import json


def register(sub: argparse._SubParsersAction) -> None:
    """Add this area's subcommands to the `gristmill` parser."""
    p = sub.add_parser("filters", help="inspect the registered document filters")
    fsub = p.add_subparsers(dest="filters_command", metavar="SUBCOMMAND", required=True)
    lp = fsub.add_parser(
        "list",
        help="list registered filters with their reason codes and default parameters",
        description="List every registered filter: name, version, reason codes, default params.",
    )
    lp.add_argument("--json", action="store_true", help="print JSON instead of text")
    lp.set_defaults(func=_list)

    from gristmill.classify.cli import register as register_classifier

    register_classifier(sub)  # gristmill classifier train|eval


def _defaults(cls: type) -> dict:
    """The parameters a filter built with no arguments has (its resolved defaults); from the
    signature when it cannot be built without arguments."""
    try:
        return cls().params()
    except Exception:
        pass
    sig = inspect.signature(cls.__init__)
    return {
        k: p.default
        for k, p in sig.parameters.items()
        if k != "self" and p.default is not inspect.Parameter.empty
    }


def _list(args: argparse.Namespace) -> int:
    from gristmill.filters.base import available, filter_class

    rows = []
    for name in available():
        cls = filter_class(name)
        rows.append(
            {
                "name": name,
                "version": cls.version,
                "reasons": [f"{name}.{r}" for r in cls.reasons],
                "params": _defaults(cls),
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    for r in rows:
        params = ", ".join(f"{k}={v!r}" for k, v in r["params"].items())
        print(f"{r['name']} (v{r['version']})")
        print(f"  params:  {params or '-'}")
        print(f"  reasons: {', '.join(r['reasons']) or '-'}")
    return 0
