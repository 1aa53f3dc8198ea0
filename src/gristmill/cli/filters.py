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


def _defaults(cls: type) -> tuple[dict, list[dict]]:
    """The parameters a filter built with no arguments has (its resolved defaults) and its
    declared rules with their default thresholds; from the signature (and no rules) when it
    cannot be built without arguments (``fasttext`` needs a model: its rules are one per
    label to remove, ``>= threshold``)."""
    try:
        f = cls()
    except Exception:
        sig = inspect.signature(cls.__init__)
        return {k: p.default for k, p in sig.parameters.items()
                if k != "self" and p.default is not inspect.Parameter.empty}, []
    return f.params(), [r.as_dict(f.name, r.threshold_of(f)) for r in f.rules()]


def _list(args: argparse.Namespace) -> int:
    from gristmill.filters.base import available, filter_class

    rows = []
    for name in available():
        cls = filter_class(name)
        params, rules = _defaults(cls)
        rows.append(
            {
                "name": name,
                "version": cls.version,
                "reasons": [f"{name}.{r}" for r in cls.reasons],
                "reasons_note": cls.reasons_note,
                "params": params,
                "rules": rules,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    for r in rows:
        params = ", ".join(f"{k}={v!r}" for k, v in r["params"].items())
        print(f"{r['name']} (v{r['version']})")
        print(f"  params:  {params or '-'}")
        note = f" (and {r['reasons_note']})" if r["reasons"] and r["reasons_note"] else r["reasons_note"]
        print(f"  reasons: {', '.join(r['reasons'])}{note or ('' if r['reasons'] else '-')}")
        for rule in r["rules"]:
            print(f"  rule:    {rule['reason']}: {rule['score']} {rule['op']} {rule['param']}"
                  f" ({rule['threshold']})")
    return 0
