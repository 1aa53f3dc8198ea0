"""The ``gristmill`` command line: the only package that parses arguments, prints for people
and maps errors to exit codes.

One module per command group (``run``, ``data``, ``filters``, ``classifier``, ``models``,
``tokens``: tokenize and tokenizer train, ``shards_export``, ``train``, ``report``), each with a
``register(subparsers)`` that only declares arguments; the heavy libraries (torch, Beam,
matplotlib, pyarrow) are imported by the command that runs, so ``gristmill --help`` starts
fast and a core install without torch has every other command. ``main`` is the one error
wrapper: a ``UserError`` is one line and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import time

from gristmill.cli.parser import (
    LEAF_PARSER,
    StrictParser,
    add_logging_flags,
    unknown_argument_error,
)

log = logging.getLogger("gristmill")

# (module, what it adds) in the order they appear in --help.
SUBCOMMAND_MODULES = [
    "gristmill.cli.run",  # run
    "gristmill.cli.data",  # data demo
    "gristmill.cli.filters",  # filters list
    "gristmill.cli.classifier",  # classifier train|eval
    "gristmill.cli.models",  # models list|build
    "gristmill.cli.tokens",  # tokenize, tokenizer train, shards verify|info|export
    "gristmill.cli.train",  # train, sample, export-hf
    "gristmill.cli.ablate",  # ablate
    "gristmill.cli.report",  # report, inspect
]


def _version() -> str:
    from gristmill import __version__

    return __version__


def build_parser() -> argparse.ArgumentParser:
    parser = StrictParser(
        prog="gristmill",
        description="Turn raw text into a trained language model.",
    )
    parser.add_argument("--version", action="version", version=f"gristmill {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).register(sub)
    add_logging_flags(parser)  # on every command, before or after its name
    return parser


def _command_name(parser: argparse.ArgumentParser, argv: list[str]) -> str | None:
    """The first word of ``argv`` that is neither a top-level flag nor a flag's value."""
    takes_value = {s for a in parser._actions if a.nargs != 0 for s in a.option_strings}
    words = iter(argv)
    for word in words:
        if word in takes_value:
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def _takes_beam_options(parser: argparse.ArgumentParser, argv: list[str]) -> bool:
    """Whether the command named in ``argv`` passes Beam pipeline options on (``run``,
    ``tokenize``: their parsers set ``pass_extra``)."""
    cmd = _command_name(parser, argv)
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


# Loggers whose levels a command sets (and ``main`` restores, for in-process callers).
_LOGGERS = ("", "gristmill", "apache_beam")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _setup_logging() -> None:
    """One stderr handler on the root logger (a no-op if the host, e.g. pytest, has one);
    until the command line is parsed only warnings show."""
    logging.basicConfig(level=logging.WARNING, format=LOG_FORMAT, datefmt="%H:%M:%S")
    for h in logging.getLogger().handlers:
        if not any(isinstance(f, _DropBeamImportNoise) for f in h.filters):
            h.addFilter(_DropBeamImportNoise())


def log_levels(args: argparse.Namespace) -> dict[str, int]:
    """The levels of the root, ``gristmill`` and ``apache_beam`` loggers for ``-v``/``-q``/
    ``--log-level``. gristmill says what it is doing (INFO) unless asked to be quiet (``-q``:
    warnings, ``-qq``: errors) or to say more (``-v``: DEBUG). Beam and other libraries only
    warn at most; an explicit ``--log-level DEBUG`` also opens Beam's own debug messages."""
    if args.log_level:
        level = getattr(logging, args.log_level)
    else:
        loudness = args.verbose - args.quiet
        level = {1: logging.DEBUG, 0: logging.INFO, -1: logging.WARNING}.get(
            max(-2, min(1, loudness)), logging.ERROR)
    others = logging.DEBUG if args.log_level == "DEBUG" else max(logging.WARNING, level)
    return {"": max(logging.WARNING, level), "gristmill": level, "apache_beam": others}


def _debug_enabled(argv: list[str]) -> bool:
    return "--debug" in argv or os.environ.get("GRISTMILL_DEBUG", "") not in ("", "0")


def _error_line(line: str) -> None:
    """Write one whole line to stderr in a single call.

    ``print`` writes the text and the newline separately; with unbuffered stderr
    (``PYTHONUNBUFFERED``) and several DDP ranks sharing one pipe, two ranks' errors then came out
    glued on one line. One write of the whole line keeps each rank's error a line of its own.
    """
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


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
    saved = {name: logging.getLogger(name).level for name in _LOGGERS}
    try:
        args, extra = parse_command_line(build_parser(), argv)
        for name, level in log_levels(args).items():
            logging.getLogger(name).setLevel(level)
        log.debug("gristmill %s, Python %s: %s", _version(), sys.version.split()[0], " ".join(argv))
        t0 = time.perf_counter()
        rc = args.func(args, extra) if getattr(args, "pass_extra", False) else args.func(args)
        log.debug("%s: exit %d after %.2f s", args.command, int(rc or 0), time.perf_counter() - t0)
    except KeyboardInterrupt:
        _error_line("gristmill: interrupted")
        return 130
    except (UserError, FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError,
            PermissionError) as e:
        if debug:
            raise
        _error_line(f"gristmill: error: {one_line(e)}")
        return 2
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)
    return int(rc or 0)

