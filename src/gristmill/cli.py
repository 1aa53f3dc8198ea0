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

from gristmill.cli_parser import LEAF_PARSER, StrictParser, unknown_argument_error

# (module, what it adds) in the order they appear in --help.
SUBCOMMAND_MODULES = [
    "gristmill.pipelines.cli",  # run
    "gristmill.data.cli",  # data demo
    "gristmill.filters.cli",  # filters list, classifier train/eval
    "gristmill.tokenize.cli",  # tokenize, tokenizer train, shards verify|info|export
    "gristmill.train.cli",  # train, sample, export-hf
    "gristmill.report.cli",  # report, inspect
]


def build_parser() -> argparse.ArgumentParser:
    from gristmill import __version__

    parser = StrictParser(
        prog="gristmill",
        description="Turn raw text into a trained language model.",
    )
    parser.add_argument("--version", action="version", version=f"gristmill {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _takes_beam_options(parser: argparse.ArgumentParser, argv: list[str]) -> bool:
    """Whether the command named in ``argv`` passes Beam pipeline options on (``run``,
    ``tokenize``: their parsers set ``pass_extra``). The top-level parser has no flags that
    take a value, so the first word that is not a flag is the command."""
    cmd = next((a for a in argv if not a.startswith("-")), None)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    chosen = sub.choices.get(cmd) if cmd else None
    return bool(chosen is not None and chosen.get_default("pass_extra"))


def parse_command_line(parser: argparse.ArgumentParser, argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """Parse ``argv`` strictly; return the arguments and the flags meant for Beam.

    Any argument no parser accepts is a ``UsageError`` that names the nearest real flag.
    For commands that take Beam pipeline options, everything after a literal ``--`` goes to
    Beam unchecked, and an unknown flag before it passes only if one of Beam's
    ``PipelineOptions`` classes defines it (after the runner is validated: creating it
    registers its options).
    """
    beam = _takes_beam_options(parser, argv)
    tail: list[str] = []
    if beam and "--" in argv:
        cut = argv.index("--")
        argv, tail = argv[:cut], argv[cut + 1:]
    args, unknown = parser.parse_known_args(argv)
    leaf = getattr(args, LEAF_PARSER, parser)
    if not beam:
        if unknown:
            raise unknown_argument_error(unknown, leaf.prog, leaf.long_flags())
        return args, []
    from gristmill.pipelines.beam_options import beam_flags, check_runner, unknown_beam_args

    check_runner(getattr(args, "runner", None))
    leftover = unknown_beam_args(unknown)
    if leftover:
        raise unknown_argument_error(leftover, leaf.prog, leaf.long_flags(), beam_flags())
    return args, unknown + tail


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

    ``UserError`` (a bad command line included: see ``parse_command_line``) and the library
    errors a user's files cause (a missing file, a permission problem) print
    ``gristmill: error: ...``; ``--debug`` or ``GRISTMILL_DEBUG=1`` re-raises them with the
    traceback.
    """
    from gristmill.errors import UserError, one_line

    argv = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_enabled(argv)
    argv = [a for a in argv if a != "--debug"]
    _setup_logging()
    try:
        args, extra = parse_command_line(build_parser(), argv)
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
