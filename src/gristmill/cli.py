"""The ``gristmill`` command: one CLI for the pipeline, the reports and the trainer.

Each area owns its subcommands in its own ``cli`` module with a ``register(subparsers)``
function, so this file stays a table of contents.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

# (module, what it adds) in the order they appear in --help.
SUBCOMMAND_MODULES = [
    "gristmill.pipelines.cli",  # run
    "gristmill.data.cli",  # data demo
    "gristmill.filters.cli",  # filters list, classifier train/eval
    "gristmill.tokenize.cli",  # tokenize, tokenizer train, shards verify|info
    "gristmill.train.cli",  # train, sample, export-hf
    "gristmill.report.cli",  # report, inspect
]


def build_parser() -> argparse.ArgumentParser:
    from gristmill import __version__

    parser = argparse.ArgumentParser(
        prog="gristmill",
        description="Turn raw text into a trained language model.",
    )
    parser.add_argument("--version", action="version", version=f"gristmill {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


class _DropBeamImportNoise(logging.Filter):
    """Beam warns about optional GCP client libraries on import; irrelevant unless used."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "apitools not found" not in record.getMessage()


def _setup_logging() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for h in logging.getLogger().handlers:
        h.addFilter(_DropBeamImportNoise())


def _debug_enabled(argv: list[str]) -> bool:
    return "--debug" in argv or os.environ.get("GRISTMILL_DEBUG", "") not in ("", "0")


def main(argv: list[str] | None = None) -> int:
    """Run one command; a user's mistake is one line on stderr and exit 2.

    ``UserError`` (and the library errors a user's files cause: a missing file, a
    permission problem) print ``gristmill: error: ...``; ``--debug`` or ``GRISTMILL_DEBUG=1``
    re-raises them with the traceback.
    """
    from gristmill.errors import UserError, one_line

    argv = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_enabled(argv)
    argv = [a for a in argv if a != "--debug"]
    _setup_logging()
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "pass_extra", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        rc = args.func(args, extra) if getattr(args, "pass_extra", False) else args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (UserError, FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError,
            PermissionError) as e:
        if debug:
            raise
        print(f"gristmill: error: {one_line(e)}", file=sys.stderr)
        return 2
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
