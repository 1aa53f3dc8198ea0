"""The shared preprocessing: one line, lowercase, words and punctuation apart."""

from __future__ import annotations

import pytest

from demo_util import read_jsonl
from gristmill.classify.preprocess import preprocess, reference_preprocess, single_line, window


def test_preprocess_real_texts_are_single_lowercase_lines(demo_dir):
    rows = read_jsonl(demo_dir / "corpus" / "fortunes.jsonl", limit=300)
    multi = [r["text"] for r in rows if "\n" in r["text"]]
    assert multi  # the sample does exercise newlines
    for r in rows:
        out = preprocess(r["text"])
        assert "\n" not in out and "\t" not in out and "  " not in out
        assert out == out.lower()
        assert preprocess(out) == out  # stable: applying it twice changes nothing


def test_preprocess_tokenization():
    assert preprocess("Don't PANIC!\nCall 0800-123,   now.") == "don't panic ! call 0800 - 123 , now ."
    assert preprocess("ＦＵＬＬ width") == "full width"  # NFKC folds compatibility forms
    assert preprocess("  \n\t ") == ""


def test_single_line_keeps_case():
    assert single_line("Hello\n\nWorld \t!") == "Hello World !"


def test_fast_path_equals_the_regex_rule_on_the_whole_demo_corpus(demo_dir):
    """``preprocess`` takes a C-speed path for ASCII text; it must give exactly the tokens of
    the regex rule (so models trained before it stay valid), on every real demo document."""
    texts = [r["text"] for name in ("fortunes", "sms_spam", "literature")
             for r in read_jsonl(demo_dir / "corpus" / f"{name}.jsonl")]
    assert len(texts) > 23_000
    assert sum(not t.isascii() for t in texts) > 20  # the regex path is exercised too
    assert [preprocess(t) for t in texts] == [reference_preprocess(t) for t in texts]


def test_fast_path_every_ascii_character_in_every_position():
    chars = [chr(i) for i in range(128)]
    # each character alone, between words, after and before apostrophes, doubled
    text = "".join(chars) + " " + " ".join(f"a{c}b{c} {c}'x'{c}y''{c}'{c}z{c}{c}" for c in chars)
    text += " 'tis o'er rock'n'roll' ''d e'f'g' _under_score_ x_'_y"
    assert preprocess(text) == reference_preprocess(text)
    assert preprocess("'tis o'er, 'quoted' rock'n'roll'") == "' tis o'er , ' quoted ' rock'n'roll '"
    assert preprocess("Café’s ‘naïve’ ﬁsh: ｄｏｎ’ｔ") == "café’s ‘ naïve ’ fish : don’t"  # regex path


def test_window_cuts_real_scenes_at_a_word_boundary(demo_dir):
    lit = [r["text"] for r in read_jsonl(demo_dir / "corpus" / "literature.jsonl", limit=300)]
    long = [t for t in lit if len(t) > 2000]
    assert len(long) > 100
    for t in long:
        w = window(t, 2000)
        assert t.startswith(w) and 1500 < len(w) <= 2000
        assert t[len(w)].isspace() or w[-1].isspace()  # no word split in two
        assert preprocess(w).split() == preprocess(t).split()[: len(preprocess(w).split())]
    short = "a short text"
    assert window(short, 2000) is short and window(short, None) is short
    assert window("x" * 50, 10) == "x" * 10  # no whitespace: a hard cut


# ---------------------------------------------------------------------------------------------
# cleaning options (each removes one kind of mark that does not transfer between sources)

MAIL = """From: Prize Desk <desk@win-big.example>
Received: from mx1.example (mx1.example [192.0.2.7])
\tby mail.example with ESMTP id 4F2A
Subject: You have WON 1,000,000 today
Date: Tue, 12 Jun 2012 10:00:00 +0000

Claim at http://win-big.example/claim?id=42 or www.win-big.example now.
On Mon, Jun 11, 2012 at 9:00 AM, Ann <ann@example.org> wrote:
> did you see the game?
>> yes
Call 0800-555-123 &amp; ask for <b>Bob</b>&nbsp;@bob99
"""


def test_headers_option_keeps_the_subject_only():
    from gristmill.classify.preprocess import strip_headers

    out = strip_headers(MAIL)
    assert out.startswith("You have WON 1,000,000 today\n\nClaim at")
    assert "Received" not in out and "ESMTP" not in out and "desk@" not in out
    # not a header block: a text that merely starts with "Note: ..." is left alone
    assert strip_headers("Note: this is a joke\nand this too") == "Note: this is a joke\nand this too"


def test_quotes_option_drops_quoted_lines_and_their_attribution():
    from gristmill.classify.preprocess import strip_quotes

    out = strip_quotes(MAIL)
    assert "did you see the game" not in out and ">> yes" not in out and "wrote:" not in out
    assert "Call 0800-555-123" in out
    assert strip_quotes("2 > 1, said nobody") == "2 > 1, said nobody"  # ">" inside a line stays


def test_html_option_removes_tags_and_decodes_entities():
    from gristmill.classify.preprocess import strip_html

    assert strip_html("Call &amp; ask for <b>Bob</b>&nbsp;now<!-- x -->.") == "Call & ask for  Bob  now ."
    assert strip_html("a < b and c > d") == "a < b and c > d"  # not tags


@pytest.mark.parametrize("option, text, expected", [
    ("urls", "see http://win.example/a?b=1, or www.Win.example!", "see  xxurl , or  xxurl !"),
    ("emails", "mail ann.lee+x@mail.example.org now", "mail  xxemail  now"),
    ("mentions", "@bob99 you are right, not @ann", " xxuser  you are right, not  xxuser "),
    ("numbers", "call 0800-555-123 for 1,000,000 at 10:30", "call  xxnum  for  xxnum  at  xxnum "),
])
def test_placeholder_options(option, text, expected):
    from gristmill.classify.preprocess import CLEAN_OPTIONS

    assert CLEAN_OPTIONS[option](text) == expected


def test_all_options_in_order_on_a_mail():
    """Headers and quotes go first, so an address in them is not left as a placeholder."""
    from gristmill.classify.preprocess import PREPROCESSORS, clean, parse_clean

    out = clean(MAIL, parse_clean("all"))
    assert "ann@" not in out and "xxemail" not in out  # the only addresses were in headers/quotes
    assert out.count("xxurl") == 2 and "xxuser" in out and "1,000,000" not in out
    line = PREPROCESSORS["gristmill+headers+quotes+html+urls+emails+mentions+numbers"](MAIL)
    assert line == preprocess(out) and "\n" not in line


def test_preprocess_names_and_bad_options():
    from gristmill.classify.preprocess import PREPROCESSORS, parse_clean, preprocess_name

    assert parse_clean("numbers, urls") == ("urls", "numbers")  # canonical order
    assert parse_clean("none") == () and preprocess_name(()) == "gristmill"
    assert preprocess_name(["numbers", "urls"]) == "gristmill+urls+numbers"
    assert "gristmill+urls+numbers" in PREPROCESSORS
    assert "gristmill+numbers+urls" not in PREPROCESSORS  # one spelling per choice
    assert "gristmill+colour" not in PREPROCESSORS and "single_line+urls" not in PREPROCESSORS
    assert PREPROCESSORS["gristmill+urls"]("Go to WWW.X.ORG") == "go to xxurl"
    with pytest.raises(ValueError, match="unknown cleaning option.*colour.*headers, quotes"):
        parse_clean("urls,colour")


def _headers_by_the_rule(text: str) -> str:
    """``strip_headers`` without its first-line shortcut: the rule as first written."""
    from gristmill.classify.preprocess import _HEADER_LINE

    lines = text.split("\n")
    n, headers = 0, []
    while n < len(lines) and lines[n].strip():
        if _HEADER_LINE.match(lines[n]):
            headers.append(lines[n])
        elif not (lines[n][:1] in (" ", "\t") and headers):
            return text
        n += 1
    if len(headers) < 2:
        return text
    subject = [h.split(":", 1)[1].strip() for h in headers if h.lower().startswith("subject:")]
    return "\n".join(subject + lines[n:]).strip("\n")


def test_cleaning_shortcuts_change_nothing(demo_dir):
    """The cheap guards (a first line that is no header; an ASCII text without a digit) skip
    work, never change a result: every demo document and the edge cases below give what the
    unguarded rules give, alone and composed under a ``gristmill+...`` name."""
    import importlib

    pre = importlib.import_module("gristmill.classify.preprocess")  # the module (the package exports the function)

    texts = [r["text"] for name in ("fortunes", "sms_spam")
             for r in read_jsonl(demo_dir / "corpus" / f"{name}.jsonl")]
    texts += [MAIL, "\nFrom: a\nTo: b\n\nbody", "From: a\n\tcontinued\nTo: b\n\nbody", "From:x\nTo: b",
              "Subject: hi\nX-Id: 1", "", "no digit here", "Arabic-Indic ٣٤ and Devanagari ७", "room 101",
              "x\u00b2 superscript", "full-width ２０２６"]
    assert sum(1 for t in texts if _headers_by_the_rule(t) != t) >= 3  # the header path runs too
    for t in texts:
        assert pre.strip_headers(t) == _headers_by_the_rule(t)
        assert pre.CLEAN_OPTIONS["numbers"](t) == pre._NUMBER.sub(" xxnum ", t)
        assert pre.CLEAN_OPTIONS["urls"](t) == pre._URL.sub(" xxurl ", t)
    assert pre.CLEAN_OPTIONS["numbers"]("Arabic-Indic ٣٤") == "Arabic-Indic  xxnum "
    assert pre.CLEAN_OPTIONS["urls"]("at WWW.X.ORG or Http://y.example") == "at  xxurl  or  xxurl "
    every = tuple(pre.CLEAN_OPTIONS)
    prep = pre.PREPROCESSORS["gristmill+" + "+".join(every)]
    assert [prep(t) for t in texts] == [preprocess(pre.clean(t, every)) for t in texts]
