"""The one base class for mistakes a user can make: flags, config, input files, run dirs.

The command line (``gristmill.cli.main``) turns any ``UserError`` into one line on stderr,
``gristmill: error: <message>``, and exit status 2; a traceback appears only with
``--debug`` or ``GRISTMILL_DEBUG=1``. Core code raises these (or a subclass) and never
prints or exits itself, so the same functions can be called from Python.
"""

from __future__ import annotations


class UserError(Exception):
    """Something the user can fix: the message says what is wrong and, where possible, how."""


class ConfigError(UserError, ValueError):
    """A bad config file, key or value (pipeline or trainer); the message names the key, the
    file and the accepted choices."""


def one_line(message: object) -> str:
    """A message folded onto one line (multi-line messages from libraries included), with
    any control or bidi character it quotes from data shown escaped (``safe_text.visible``)."""
    from gristmill.safe_text import visible

    return visible(" ".join(str(message).split()))
