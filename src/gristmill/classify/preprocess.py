"""The one text transformation used both to train a classifier and to apply it.

A model only sees features it saw in training, so training and inference must turn text into
tokens in exactly the same way; keeping a single function makes a mismatch impossible.
fastText's ``predict`` also refuses text containing newlines, and splits on whitespace only,
so we lowercase, split words from punctuation, and join everything with single spaces.

The token rule is the regular expression ``_TOKEN`` (``reference_preprocess``). Applying it
costs ~40 ns per character, as much as fastText's own prediction, so ``preprocess`` takes a
fast path for ASCII text (after NFKC and lowercasing) that gives exactly the same string from
C-speed string operations; other text goes through the regular expression. Tests check the
two agree on the whole demo corpus and on every ASCII character in every position.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from collections.abc import Callable, Sequence

# A word (letters/digits/underscore, with inner apostrophes: "don't", "o'clock"), or any
# single other non-space character (punctuation, symbols, emoji), each its own token.
_TOKEN = re.compile(r"\w+(?:['\u2019]\w+)*|[^\w\s]")

# ASCII fast path. Every ASCII character that is neither a word character nor whitespace is
# a token of its own, so putting spaces around it and splitting on whitespace gives the
# regex's tokens; the apostrophe is the one exception (it stays inside a word when there is
# a word character on both sides).
_WORD_OR_SPACE = bytes(b for b in range(128) if chr(b).isalnum() or chr(b) == "_" or chr(b).isspace())
_SPACED = {b: f" {chr(b)} " for b in range(128) if bytes([b]) not in _WORD_OR_SPACE}
_APOSTROPHE = ord("'")
# An apostrophe with no word character before it, or none after it.
_LONE_APOSTROPHE = re.compile(r"'(?:(?<!\w')|(?!\w))")


def reference_preprocess(text: str) -> str:
    """The token rule written as a regular expression: the specification ``preprocess``
    must match, and the path it takes for non-ASCII text."""
    return " ".join(_TOKEN.findall(unicodedata.normalize("NFKC", text).lower()))


def preprocess(text: str) -> str:
    """Lowercased, NFKC-normalised tokens joined by single spaces; never contains a newline.

    NFKC folds compatibility forms (full-width letters, ligatures) so they share features with
    their plain forms. The result of an empty or all-whitespace text is ``""``. Equal to
    ``reference_preprocess(text)``, about 2x faster on ASCII text (1.9x on a fortune, 2.3x
    on a 7 KB scene).
    """
    text = unicodedata.normalize("NFKC", text).lower()
    if not text.isascii():
        return " ".join(_TOKEN.findall(text))
    # The distinct punctuation/control characters present: deleting word characters and
    # whitespace from the bytes leaves only them (one C pass), then one replace per kind.
    for b in set(text.encode("ascii").translate(None, _WORD_OR_SPACE)):
        if b == _APOSTROPHE:
            text = _LONE_APOSTROPHE.sub(" ' ", text)
        else:
            text = text.replace(chr(b), _SPACED[b])
    return " ".join(text.split())


def single_line(text: str) -> str:
    """Whitespace (newlines included) collapsed to single spaces, case kept.

    For models trained elsewhere with their own preprocessing (for example fastText's
    ``lid.176`` or Dolma/DataTrove quality models), which only need the text on one line.
    """
    return " ".join(text.split())


def window(text: str, max_chars: int | None) -> str:
    """The first ``max_chars`` characters of ``text``, cut back to the last whitespace so no
    word is split (a hard cut when the window holds no whitespace); ``text`` itself when it
    fits or ``max_chars`` is None.

    Why a prefix: a classifier's cost grows with the text, while its decision on a long
    document rarely changes after the first few thousand characters (docs/classifiers.md
    measures how often it does on the demo corpus).
    """
    if max_chars is None or len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    if not text[max_chars].isspace():
        head = cut.rsplit(None, 1)  # [words before the last whitespace, the cut word]
        if len(head) == 2:
            cut = head[0]
    return cut


# ---------------------------------------------------------------------------------------------
# Cleaning options: remove what does not transfer from one collection to another.
#
# A classifier trained on one source learns its incidental marks as readily as its content:
# the mail server in a header, the domain of a link, a phone number of one spam campaign, the
# quoted message a reply carries, the HTML of one forum's software, the user names of one site.
# None of these carries over to another crawl or another year. Each option below replaces or
# removes one kind of mark before ``preprocess`` tokenizes the text; the choice is part of the
# model (recorded in its metrics JSON, named in its card's config snippet), applied the same
# way at training and inference through a ``gristmill+OPTION+...`` preprocessing name.
# A placeholder (``xxurl``) keeps the fact that there was a link, which does transfer.

_HEADER_LINE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*:[ \t]")
_HTML_TAG = re.compile(r"<!--.*?-->|</?[A-Za-z][^<>]{0,500}>", re.S)
_URL = re.compile(r"\b(?:https?://|ftp://|www\.)[^\s<>\"']*[^\s<>\"'.,;:!?)\]]", re.I)  # not its final punctuation
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_MENTION = re.compile(r"(?<![\w@])@\w+")
_NUMBER = re.compile(r"\d(?:[\d,.:/-]*\d)?")
_QUOTED = re.compile(r"^[ \t]*>")
_ATTRIBUTION = re.compile(r"^.{0,200}\bwrote:\s*$|^-{2,}\s*original message\s*-{2,}\s*$", re.I)


def strip_headers(text: str) -> str:
    """Drop a leading RFC 822 header block (two or more ``Name: value`` lines with their
    continuation lines, up to the first blank line), keeping the ``Subject:`` text: the
    subject is content, the servers, dates and ids are not. Text without such a block is
    returned unchanged."""
    if not _HEADER_LINE.match(text):
        return text  # the common case: the first line is no header (the pattern cannot span lines)
    lines = text.split("\n")
    n = 0
    headers: list[str] = []
    while n < len(lines) and lines[n].strip():
        if _HEADER_LINE.match(lines[n]):
            headers.append(lines[n])
        elif not (lines[n][:1] in (" ", "\t") and headers):
            return text  # not a header block
        n += 1
    if len(headers) < 2:
        return text
    subject = [h.split(":", 1)[1].strip() for h in headers if h.lower().startswith("subject:")]
    return "\n".join(subject + lines[n:]).strip("\n")


def strip_quotes(text: str) -> str:
    """Drop e-mail quoting: lines starting with ``>`` and the ``On ... wrote:`` or
    ``-----Original Message-----`` line that introduces them (the quoted message is someone
    else's text, often from another source)."""
    if ">" not in text and "rote:" not in text and "----" not in text:
        return text  # the common case, without splitting into lines
    return "\n".join(ln for ln in text.split("\n") if not (_QUOTED.match(ln) or _ATTRIBUTION.match(ln)))


def strip_html(text: str) -> str:
    """HTML tags and comments become spaces and character references are decoded
    (``&amp;`` -> ``&``, ``&nbsp;`` -> a space): remnants of one site's markup."""
    if "<" not in text and "&" not in text:
        return text.replace("\xa0", " ")
    return html.unescape(_HTML_TAG.sub(" ", text)).replace("\xa0", " ")


def _sub_if(marks: tuple[str, ...], pattern: re.Pattern, repl: str, lower: bool = False) -> Callable[[str], str]:
    """``pattern.sub(repl, text)``, skipped when no mark is in the text: these patterns scan
    every position, and most documents hold no link or address at all."""
    def sub(text: str) -> str:
        # plain loops (no generator: this runs per document); a lowercase mark found in the
        # text is in its lowercased copy too, so the copy is made only when none is found
        for m in marks:
            if m in text:
                return pattern.sub(repl, text)
        if lower:
            probe = text.lower()
            for m in marks:
                if m in probe:
                    return pattern.sub(repl, text)
        return text
    return sub


def _has_ascii_digit(text: str) -> bool:
    """Whether an ASCII text holds a digit (ten substring searches in C): a text without one
    skips the number pattern's scan of every position. Non-ASCII text always goes to the
    pattern, whose ``\\d`` also matches other scripts' digits."""
    for d in "0123456789":  # noqa: SIM110 (a plain loop: any() with a generator costs more here)
        if d in text:
            return True
    return False


CLEAN_OPTIONS: dict[str, Callable[[str], str]] = {
    # in the order they apply: a header or quote is removed before its links are replaced
    "headers": strip_headers,
    "quotes": strip_quotes,
    "html": strip_html,
    "urls": _sub_if(("://", "www."), _URL, " xxurl ", lower=True),
    "emails": _sub_if(("@",), _EMAIL, " xxemail "),
    "mentions": _sub_if(("@",), _MENTION, " xxuser "),
    "numbers": lambda t: _NUMBER.sub(" xxnum ", t) if not t.isascii() or _has_ascii_digit(t) else t,
}
"""Each option's function; ``clean`` applies the chosen ones in this order."""


def parse_clean(spec: str | Sequence[str] | None) -> tuple[str, ...]:
    """Options from ``"urls,numbers"`` (or a list; ``all`` = every option, ``none`` or empty =
    none) in canonical order; an unknown option is a ValueError listing the known ones."""
    if spec is None:
        return ()
    items = [x.strip() for x in (spec.split(",") if isinstance(spec, str) else spec) if x.strip()]
    if items in (["all"], ["none"]):
        return tuple(CLEAN_OPTIONS) if items == ["all"] else ()
    unknown = [x for x in items if x not in CLEAN_OPTIONS]
    if unknown:
        raise ValueError(f"unknown cleaning option(s) {', '.join(unknown)}; choose from "
                         f"{', '.join(CLEAN_OPTIONS)}, all or none")
    return tuple(o for o in CLEAN_OPTIONS if o in items)


def clean(text: str, options: Sequence[str]) -> str:
    """``text`` with each cleaning option in ``options`` applied (canonical order)."""
    return _apply(text, _steps(tuple(options)))


def _apply(text: str, steps: tuple[Callable[[str], str], ...]) -> str:
    for step in steps:
        text = step(text)
    return text


@functools.lru_cache(maxsize=64)
def _steps(options: tuple[str, ...]) -> tuple[Callable[[str], str], ...]:
    """The functions of ``options`` in ``CLEAN_OPTIONS``' order, found once per choice (this
    runs per document)."""
    return tuple(f for name, f in CLEAN_OPTIONS.items() if name in options)


def preprocess_name(options: Sequence[str]) -> str:
    """The ``preprocess`` name of gristmill's preprocessing after ``options``:
    ``gristmill`` alone, else ``gristmill+urls+numbers`` (canonical order)."""
    return "+".join(["gristmill", *parse_clean(list(options))])


@functools.lru_cache(maxsize=64)
def _composite(name: str) -> Callable[[str], str]:
    base, *opts = name.split("+")
    if base != "gristmill" or not opts or preprocess_name(opts) != name:
        raise KeyError(name)
    steps = _steps(tuple(opts))  # found once: the composite runs per document
    return lambda text: preprocess(_apply(text, steps))


class _Preprocessors(dict):
    """Named preprocessing: the plain names below, and ``gristmill+OPTION+...`` (cleaning
    options in canonical order, then ``preprocess``), resolved on demand."""

    def __missing__(self, key: str) -> Callable[[str], str]:
        return _composite(key)

    def __contains__(self, key: object) -> bool:
        if dict.__contains__(self, key):
            return True
        try:
            return isinstance(key, str) and _composite(key) is not None
        except (KeyError, ValueError):
            return False


PREPROCESSORS = _Preprocessors({"gristmill": preprocess, "single_line": single_line})
"""Named preprocessing for the ``fasttext`` filter's ``preprocess`` parameter (and for
``classifier train --clean``: a model trained with options records its name)."""
