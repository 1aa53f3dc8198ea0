"""A strict argument parser: a mistyped flag is an error that names the flag it resembles.

argparse on its own prints a usage block plus an error and exits from deep inside the parse;
by default it also expands any unambiguous prefix (``--over`` means ``--overwrite``), so a
typo can silently select a flag. Here every parse error is a ``UsageError`` (a
``UserError``): ``gristmill.cli.main`` prints it as one line, ``gristmill: error: ...``, and
exits 2, like every other user error.

One vocabulary of flags: ``--input`` names what a command reads, ``--output`` what it writes.
A command whose operand is one directory or file (``shards verify``, ``report``) also takes it
as a positional (``add_operand``). A renamed flag keeps its old spelling, hidden from
``--help``, for one release (``old_name``). Every command accepts the logging flags
(``add_logging_flags``).
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Callable, Iterable, Sequence

from gristmill.errors import UserError

# The namespace attribute that names the (sub)parser that parsed the command's own flags.
LEAF_PARSER = "_gristmill_parser"

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class UsageError(UserError):
    """A command line argparse rejected: unknown flag, missing argument, bad value."""


class StrictParser(argparse.ArgumentParser):
    """``ArgumentParser`` that raises ``UsageError`` instead of exiting, and never abbreviates.

    Subparsers inherit the class (``add_subparsers`` uses ``type(self)``), so the whole
    command tree is strict.
    """

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("allow_abbrev", False)  # `--over` must not mean `--overwrite`
        super().__init__(*args, **kwargs)
        # Checked after parsing, as argparse cannot: required flags that may be given by their
        # old name (old_name), and operands given as positional or flag (add_operand).
        self.required_renamed: list[tuple[argparse.Action, list[str]]] = []
        self.operands: list[tuple[str, str, str, bool]] = []
        # Arguments added on first use (see defer): (adder, index into _actions, into groups).
        self.deferred: list[tuple[Callable[[argparse.ArgumentParser], None], int, int]] = []

    def defer(self, add: Callable[[argparse.ArgumentParser], None]) -> None:
        """Call ``add(self)`` only when this parser is used (to parse, or for its help), for
        arguments whose declaration needs a slow import (``train``'s settings are read from
        pydantic models): building the whole command tree for any other command stays fast.
        The arguments keep the place in ``--help`` and the usage line they would have had if
        added now."""
        self.deferred.append((add, len(self._actions), len(self._action_groups)))

    def _add_deferred(self) -> None:
        shift_actions = shift_groups = 0
        while self.deferred:
            add, at_action, at_group = self.deferred.pop(0)
            n_actions, n_groups = len(self._actions), len(self._action_groups)
            add(self)
            for items, n, at in ((self._actions, n_actions, at_action + shift_actions),
                                 (self._action_groups, n_groups, at_group + shift_groups)):
                new = items[n:]
                del items[n:]
                items[at:at] = new
            shift_actions += len(self._actions) - n_actions
            shift_groups += len(self._action_groups) - n_groups

    def format_usage(self) -> str:
        self._add_deferred()
        return super().format_usage()

    def format_help(self) -> str:
        self._add_deferred()
        return super().format_help()

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        """Also check renamed flags and operands, and record which parser saw the command's own
        flags: the innermost one returns first, so its name wins (used to suggest flags for
        unknown ones)."""
        self._add_deferred()
        words = sys.argv[1:] if args is None else list(args)
        relaxed = [a for a, old in self.required_renamed
                   if any(w.split("=", 1)[0] in old for w in words)]
        for action in relaxed:  # given by its old name: argparse would call it missing
            action.required = False
        try:
            ns, extras = super().parse_known_args(args, namespace)
        finally:
            for action in relaxed:
                action.required = True
        self._check_renamed(ns)
        self._merge_operands(ns)
        if not hasattr(ns, LEAF_PARSER):
            setattr(ns, LEAF_PARSER, self)
        return ns, extras

    def _check_renamed(self, ns: argparse.Namespace) -> None:
        missing = [a.option_strings[0] for a, _ in self.required_renamed
                   if getattr(ns, a.dest, None) is None]
        if missing:
            self.error(f"the following arguments are required: {', '.join(missing)}")

    def _merge_operands(self, ns: argparse.Namespace) -> None:
        for dest, flag, metavar, required in self.operands:
            positional = getattr(ns, _operand_dest(dest), None)
            if hasattr(ns, _operand_dest(dest)):
                delattr(ns, _operand_dest(dest))
            given = getattr(ns, dest, None)
            if positional is not None and given is not None:
                self.error(f"{metavar} given twice: as an argument and as {flag}; give it once")
            if positional is not None:
                setattr(ns, dest, positional)
            elif given is None and required:
                self.error(f"the following arguments are required: {metavar} (or {flag} {metavar})")

    def long_flags(self) -> list[str]:
        """Every ``--flag`` this parser accepts and shows, for near-miss suggestions (a hidden
        old name is accepted but never suggested)."""
        self._add_deferred()
        return [s for a in self._actions if a.help is not argparse.SUPPRESS
                for s in a.option_strings if s.startswith("--")]

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(f"{message}; see '{self.prog} --help'")


def _operand_dest(dest: str) -> str:
    return f"_{dest}_operand"


def old_name(parser: argparse.ArgumentParser, old: str, dest: str) -> None:
    """Accept ``old``, a flag's previous spelling, for one release: it stores into the new
    flag's ``dest`` (same type and arity) and is hidden from ``--help``. A required new flag
    stays required: given by either name (checked after parsing)."""
    new = next(a for a in parser._actions if a.dest == dest and a.option_strings)
    parser.add_argument(old, dest=dest, nargs=new.nargs, type=new.type, choices=new.choices,
                        metavar=new.metavar, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    if new.required and isinstance(parser, StrictParser):
        parser.required_renamed.append((new, [old]))


def add_operand(parser: StrictParser, flag: str, metavar: str, help: str,
                required: bool = True) -> None:
    """The one operand of a command (a shards directory, a run directory), given either as a
    positional argument or as ``flag`` (``--input``/``--output``): both land in the flag's
    dest; giving both, or neither when ``required``, is a usage error."""
    dest = flag.lstrip("-").replace("-", "_")
    parser.add_argument(_operand_dest(dest), nargs="?", metavar=metavar,
                        help=f"{help} (or {flag} {metavar})")
    parser.add_argument(flag, dest=dest, metavar=metavar, default=None,
                        help=f"same as the {metavar} argument")
    parser.operands.append((dest, flag, metavar, required))


def _level(text: str) -> str:
    name = text.upper()
    if name not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(LOG_LEVELS)}, got {text!r}")
    return name


def add_logging_flags(parser: argparse.ArgumentParser, top: bool = True) -> None:
    """``-v/--verbose``, ``-q/--quiet``, ``--log-level`` and ``--debug`` on ``parser`` and every
    subcommand below it, so they work before and after the command name. Only the top level
    has defaults: a subcommand stores a flag only when it is given, never resetting the
    top level's value (argparse copies a subparser's defaults over its parent's)."""

    def default(value: object) -> object:
        return value if top else argparse.SUPPRESS

    g = parser.add_argument_group("logging (any command)")
    g.add_argument("-v", "--verbose", action="count", default=default(0),
                   help="more messages: debug ones too (what gristmill is doing shows by default)")
    g.add_argument("-q", "--quiet", action="count", default=default(0),
                   help="fewer messages: warnings and errors only (-qq: errors only)")
    g.add_argument("--log-level", type=_level, default=default(None), metavar="LEVEL",
                   help=f"one of {', '.join(LOG_LEVELS)} (overrides -v/-q); DEBUG also shows "
                        "Beam's own debug messages")
    g.add_argument("--debug", action="store_true", default=default(False),
                   help="show a traceback for errors (also GRISTMILL_DEBUG=1)")
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):  # aliases share a parser
                add_logging_flags(child, top=False)


def positive_int(text: str) -> int:
    """argparse type for counts that must be at least 1 (``--workers 0`` is a mistake)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {n}")
    return n


def unknown_argument_error(
    leftover: Sequence[str], prog: str, candidates: Iterable[str], more: Iterable[str] = ()
) -> UsageError:
    """The error for arguments no parser accepted: the first unknown flag, with the closest
    of ``candidates`` (then of ``more``) as a suggestion when one is near enough."""
    flag = next((a for a in leftover if a.startswith("-") and a != "-"), None)
    if flag is None:
        return UsageError(f"unexpected argument {leftover[0]!r}; see '{prog} --help'")
    name = flag.split("=", 1)[0]
    for pool in (list(candidates), list(more)):
        close = difflib.get_close_matches(name, pool, n=1, cutoff=0.7)
        if close:
            return UsageError(f"unknown flag {name} (did you mean {close[0]}?)")
    return UsageError(f"unknown flag {name}; see '{prog} --help'")
