"""A strict argument parser: a mistyped flag is an error that names the flag it resembles.

argparse on its own prints a usage block plus an error and exits from deep inside the parse;
by default it also expands any unambiguous prefix (``--over`` means ``--overwrite``), so a
typo can silently select a flag. Here every parse error is a ``UsageError`` (a
``UserError``): ``gristmill.cli.main`` prints it as one line, ``gristmill: error: ...``, and
exits 2, like every other user error.
"""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Iterable, Sequence

from gristmill.errors import UserError

# The namespace attribute that names the (sub)parser that parsed the command's own flags.
LEAF_PARSER = "_gristmill_parser"


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

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        """Also record which parser saw the command's own flags: the innermost one returns
        first, so its name wins (used to suggest flags for unknown ones)."""
        ns, extras = super().parse_known_args(args, namespace)
        if not hasattr(ns, LEAF_PARSER):
            setattr(ns, LEAF_PARSER, self)
        return ns, extras

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(f"{message}; see '{self.prog} --help'")

    def long_flags(self) -> list[str]:
        """Every ``--flag`` this parser accepts, for near-miss suggestions."""
        return [s for a in self._actions for s in a.option_strings if s.startswith("--")]


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
