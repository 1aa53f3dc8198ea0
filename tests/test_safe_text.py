"""``visible``: control, format and bidi characters from data are shown as escapes."""

from __future__ import annotations

import unicodedata

from rich.text import Text

from gristmill.report.terminal import styled
from gristmill.safe_text import plain, visible

ESCAPED = ("Cc", "Cf", "Zl", "Zp", "Cs")


def test_terminal_commands_become_visible_escapes():
    assert visible("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert visible("\x1b]52;c;aGVsbG8=\x07") == "\\x1b]52;c;aGVsbG8=\\x07"  # OSC 52 clipboard
    assert visible("\x9b31m") == "\\x9b31m"  # one-byte CSI (C1)
    assert visible("\x00\x7f\x85") == "\\x00\\x7f\\x85"
    assert visible("\r") == "\\r"


def test_bidi_and_invisible_format_characters_are_escaped():
    assert visible("abc\u202edef") == "abc\\u202edef"  # right-to-left override
    assert visible("\u2066x\u2069") == "\\u2066x\\u2069"  # isolates
    assert visible("\ufeffx\u200b\u200e") == "\\ufeffx\\u200b\\u200e"  # BOM, ZWSP, LRM
    assert visible("a\U000e0041\U000e0042") == "a\\U000e0041\\U000e0042"  # tag characters
    assert visible("line\u2028para\u2029") == "line\\u2028para\\u2029"
    assert visible("\ud800 \udfff") == "\\ud800 \\udfff"  # lone surrogates, printable after


def test_newlines_and_tabs_are_kept_only_in_multiline_text():
    assert visible("a\nb\tc") == "a\\nb\\tc"
    assert visible("a\nb\tc", multiline=True) == "a\nb\tc"
    assert visible("a\r\nb", multiline=True) == "a\\r\nb"


def test_ordinary_text_is_unchanged():
    for s in ("plain ASCII [bold red]x[/] :smile: \\x1b", "élan naïve Straße", "中文 日本語 한국어",
              "مرحبا بالعالم", "שלום", "नमस्ते क्‍ष", "می‌خواهم", "👨\u200d👩\u200d👧 🏳️\u200d🌈 é",
              "\ue000 private use", ""):
        assert visible(s) == s
        assert visible(s, multiline=True) == s


def test_none_and_non_strings():
    assert visible(None) == ""
    assert visible(3.5) == "3.5"
    assert visible(["\x1b"]) == "['\\x1b']"  # str() of a list already escapes it


def test_every_code_point_of_the_escaped_categories_is_caught():
    """Over all of Unicode: nothing of Cc/Cf/Zl/Zp/Cs survives except ZWNJ and ZWJ."""
    everything = "".join(map(chr, range(0x110000)))
    for multiline in (False, True):
        out = visible(everything, multiline)
        left = {c for c in out if unicodedata.category(c) in ESCAPED}
        assert left == ({"\u200c", "\u200d"} | ({"\n", "\t"} if multiline else set()))


def test_plain_is_never_markup():
    t = plain("[bold red]x[/] [link=https://e.org]y[/link] :smile:\x1b")
    assert isinstance(t, Text)
    assert t.plain == "[bold red]x[/] [link=https://e.org]y[/link] :smile:\\x1b" and not t.spans


def test_highlight_spans_survive_escaping():
    """The spans name characters of the raw text; after escaping they still mark them."""
    text = "\x1b[2J lead \u202e WORD\ttail \x9b"
    a = text.index("WORD")
    t = styled(text, [(a, a + 4), (a + 2, a + 8)])  # overlapping: no character twice
    assert t.plain == "\\x1b[2J lead \\u202e WORD\ttail \\x9b"
    assert "".join(t.plain[s.start:s.end] for s in t.spans) == "WORD\ttai"
