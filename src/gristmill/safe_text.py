"""Show text that came from data on a terminal (or in a saved page) without obeying it.

Documents, ids, sources, metadata and error messages are data: anyone who wrote the input
chose them. Printed raw, ``\\x1b[2J`` clears the screen, ``\\x1b]52;c;...\\x07`` writes the
user's clipboard, ``\\x9b`` is a one-byte CSI on terminals that honour C1 controls, and
U+202E (right-to-left override) makes a terminal show text in an order other than the one
it has. :func:`visible` replaces each such character with a visible escape, in Python's
spelling (``\\x1b``, ``\\u202e``, ``\\U000e0041``), so a reader sees that it is there.

What is escaped (the decision, and why):

- Unicode category Cc, the C0 controls, DEL and the C1 controls (U+0080-U+009F): terminal
  commands. ``\\n`` and ``\\t`` are kept in multi-line text (a document's body) and escaped in
  one-line fields (id, source, url, reason, metadata, table cells), where a line break would
  break the layout or fake a row.
- Category Cf, format characters, which are invisible and change how other text is shown:
  the bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069), the marks
  LRM/RLM/ALM, zero-width space-like joiners (U+2060-U+2064), the BOM (U+FEFF), soft hyphen
  and the tag characters (U+E0000-U+E007F, used to smuggle invisible text). The exceptions
  are ZWNJ and ZWJ (U+200C, U+200D): they only select glyph forms, and emoji sequences and
  several scripts (Persian, the Indic scripts) need them to read right.
  The cost: an emoji subdivision flag (which is spelled with tag characters) shows its tags.
- Categories Zl and Zp (U+2028, U+2029): some terminals and editors break lines on them.
- Category Cs, lone surrogates (which valid JSON can carry): ``\\ud800``. Printing one raw
  would raise ``UnicodeEncodeError`` instead.

Everything else is shown as is: letters of any script, emoji, combining marks, private-use
and unassigned code points (not commands on any terminal). A backslash is not doubled, so the
result is for reading, not for parsing back. Escaping is per character, so a caller may escape
the pieces of a text between highlight spans one by one.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.text import Text

_ESCAPED = ("Cc", "Cf", "Zl", "Zp", "Cs")  # controls, format, line/paragraph separators, surrogates
_KEEP_FORMAT = {"\u200c", "\u200d"}  # ZWNJ, ZWJ: glyph selection only
_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
# Planes that hold every Cc, Cf, Zl, Zp and Cs code point: the BMP, plane 1 and plane 14.
_SCAN = (range(0x0, 0x20000), range(0xE0000, 0xE1000))


@cache
def _pattern(multiline: bool) -> re.Pattern[str]:
    """A character class of every code point to escape; built once per mode (~60 ms)."""
    keep = _KEEP_FORMAT | ({"\n", "\t"} if multiline else set())
    chars = [cp for block in _SCAN for cp in block
             if unicodedata.category(chr(cp)) in _ESCAPED and chr(cp) not in keep]
    ranges, start = [], chars[0]
    for prev, cp in zip(chars, chars[1:] + [-1], strict=True):
        if cp != prev + 1:
            ranges.append(f"\\U{start:08x}" + (f"-\\U{prev:08x}" if prev != start else ""))
            start = cp
    return re.compile("[" + "".join(ranges) + "]")


def _escape(m: re.Match[str]) -> str:
    c = m.group()
    if c in _SHORT:
        return _SHORT[c]
    cp = ord(c)
    if cp < 0x100:
        return f"\\x{cp:02x}"
    return f"\\u{cp:04x}" if cp < 0x10000 else f"\\U{cp:08x}"


def visible(text: object, multiline: bool = False) -> str:
    """``text`` (anything; ``str()`` is taken) with control, format and separator characters
    escaped visibly. ``multiline=True`` keeps newlines and tabs (a document body); the default
    escapes them too (a one-line field). ``None`` renders as an empty string."""
    if text is None:
        return ""
    s = text if isinstance(text, str) else str(text)
    if s.isascii() and s.isprintable():
        return s  # the common case: plain ASCII, nothing to escape
    return _pattern(multiline).sub(_escape, s)


def plain(text: object, multiline: bool = False, style: str = "") -> Text:
    """:func:`visible` text as a rich ``Text``: a ``Text`` is never parsed for console markup
    (``[bold]``, ``[link=...]``) or emoji codes, whatever the console's settings."""
    from rich.text import Text

    return Text(visible(text, multiline), style=style)
