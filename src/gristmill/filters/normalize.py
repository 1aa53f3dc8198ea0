"""Text normalization applied to every document before any filter sees it.

Unicode NFC (so the same word has one byte form), newlines unified to ``\\n``, control
characters removed (NUL and friends break downstream tools), trailing whitespace on lines
trimmed. Tabs are kept. The steps are deterministic and idempotent.
"""

from __future__ import annotations

import re
import unicodedata

# C0 and C1 control characters except \t and \n; also U+FEFF (BOM) and other
# invisible format characters that carry no text.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufeff\u200b\u2028\u2029]")
_TRAILING_WS = re.compile(r"[^\S\n]+\n")


def normalize_text(text: str, nfc: bool = True, strip_controls: bool = True) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if strip_controls:
        text = _CONTROL.sub("", text)
    if nfc and not text.isascii():
        text = unicodedata.normalize("NFC", text)
    text = _TRAILING_WS.sub("\n", text)
    return text.strip()
