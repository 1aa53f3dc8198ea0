"""The PII detectors behind the ``pii`` filter: one function per kind, plain regex + checks.

Each detector returns ``Found(start, end, kind, redact)`` items. ``redact`` is False for a
string that *is* of the kind but is left alone (a documentation example, a private
address): it still claims its characters, so a later detector cannot redact a piece of it
(the digits of ``192.0.2.10`` are not a phone number). The filter runs the detectors in the
order of ``DETECTORS`` (e-mail, card, IPv6, IPv4, phone) and drops any match overlapping an
earlier claim.

Precision rules, each a decision written down here and in docs:

- **e-mail**: ASCII dot-atom local part, a dotted domain ending in a 2-24 letter TLD (no
  quoted local parts, no IDN). Documentation domains (RFC 2606/6761): ``example.com``,
  ``example.net``, ``example.org`` and their subdomains, and the TLDs ``.example``,
  ``.test``, ``.invalid``, ``.localhost``.
- **IP**: candidates validated by ``ipaddress`` (so ``999.1.1.1`` and ``01.02.03.04`` are
  not addresses). A dotted quad right after a version/section word (``version 1.2.3.4``,
  ``build``, ``section``, ``§``...) is a version, not an address. Only *global* addresses
  are redacted by default (``public_ips_only``): private, loopback, link-local, shared,
  multicast and reserved addresses identify nobody outside their network (DataTrove's
  PIIFormatter makes the same choice). Documentation ranges (RFC 5737 192.0.2.0/24,
  198.51.100.0/24, 203.0.113.0/24; RFC 3849 2001:db8::/32) are examples.
- **phone**: a digit run with separators is a phone number when it has an international
  form (``+CC ...``, ``00CC ...``: 8-15 digits), the North American 3-3-4 form with valid
  area and exchange codes (``(212) 555-0199``, ``212.555.0199``, optional leading 1), or a
  grouped national form with a trunk 0 (``020 7946 0958``, ``01 23 45 67 89``: 10-11
  digits). Any other digit run of 7-15 digits counts only right after a phone word
  (``call``, ``tel``, ``mobile``, ``fax``, ``txt``...). Never after an id word (``order``,
  ``invoice``, ``ISBN``, ``#``...), never with doubled separators (``12 - 5 - 3``: math).
  Examples: North American 555-0100..555-0199 and the UK's Ofcom drama ranges.
- **card**: 13-19 digits, ungrouped or in 4-digit groups (Amex/Diners 4-6-5 and 4-6-4 too)
  with one kind of separator, passing the Luhn check and starting with a known issuer
  prefix (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro;
  ``card_issuers: false`` drops this check). The public test numbers of card networks and
  payment processors (4111 1111 1111 1111, ...) are examples.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass

KINDS = ("email", "ip", "phone", "card")


@dataclass(frozen=True)
class Found:
    start: int
    end: int
    kind: str
    redact: bool  # False: recognised but kept (an example, a private address)


@dataclass(frozen=True)
class Options:
    redact_examples: bool = False
    public_ips_only: bool = True
    card_issuers: bool = True


# ------------------------------------------------------------------------------ context
# Words that make the number after them an identifier or a version, not PII.
_ID_WORDS = re.compile(
    r"(?:\b(?:isbn(?:-1[03])?|issn|doi|order|invoice|tracking|ref|reference|serial|sku|id|"
    r"ticket|case|patent|pmid|account|acct|no|nr|num|commit|hash|sha|uuid|guid|token|key)\b\.?\s*(?:no\.?|number|#)?\s*[:#]?\s*|#\s*)$",
    re.I,
)
_VERSION_WORDS = re.compile(
    r"(?:\b(?:version|ver|v|release|rel|build|rev|revision|firmware|kernel|update|patch|"
    r"upgraded?|section|sect|chapter|clause|figure|fig|table|step|paragraph|para|article|"
    r"appendix|oid)\b\.?\s*[:#]?\s*(?:to\s+)?|§\s*)$",
    re.I,
)
_PHONE_WORDS = re.compile(
    r"\b(?:call(?:ing)?|phone|tel|telephone|mobile|mob|cell|fax|ring|text|txt|sms|dial|"
    r"contact|whatsapp|hotline|helpline)\b[^\w\n]{0,4}(?:(?:me|us|on|at|is|now|free|"
    r"number|no)\b[^\w\n]{0,3}){0,2}$",
    re.I,
)
_IP_WORDS = re.compile(
    r"\b(?:ip|ipv4|address|addr|host|server|gateway|dns|ping|proxy|client|router|nameserver|inet|"
    r"src|dst|peer)\b[^\w\n]{0,4}(?:(?:is|at|of|was|from|to)\b[^\w\n]{0,3}){0,2}$",
    re.I,
)
_WINDOW = 40  # characters of left context the words above are looked for in


def _before(text: str, start: int) -> str:
    return text[max(0, start - _WINDOW):start]


# ------------------------------------------------------------------------------ e-mail
_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@"
    r"((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24})(?![\w-])"
)
_DOC_DOMAINS = ("example.com", "example.net", "example.org")
_DOC_TLDS = ("example", "test", "invalid", "localhost")


def example_domain(domain: str) -> bool:
    d = domain.lower()
    return d.rsplit(".", 1)[-1] in _DOC_TLDS or any(d == x or d.endswith("." + x) for x in _DOC_DOMAINS)


def emails(text: str, opt: Options) -> list[Found]:
    if "@" not in text:
        return []
    return [Found(m.start(), m.end(), "email", opt.redact_examples or not example_domain(m.group(1)))
            for m in _EMAIL.finditer(text)]


# ------------------------------------------------------------------------------ IP
# Patterns start with the character class they need and look behind after it: Python's re
# then skips ahead by that class, twice as fast as a leading look-behind.
_IPV4 = re.compile(r"\d(?<![\w.]\d)\d{0,2}(?:\.\d{1,3}){3}(?!\.?\d|\w)")
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{0,4})(?![\w:])"
)
_IPV6_HINT = re.compile(r"[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:")
_DOC_NETS = tuple(ipaddress.ip_network(n) for n in
                  ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"))


def _ip_found(start: int, end: int, addr: ipaddress.IPv4Address | ipaddress.IPv6Address,
              opt: Options) -> Found:
    if any(addr.version == n.version and addr in n for n in _DOC_NETS):
        redact = opt.redact_examples
    else:
        redact = addr.is_global or not opt.public_ips_only
    return Found(start, end, "ip", redact)


def ipv4s(text: str, opt: Options) -> list[Found]:
    out = []
    for m in _IPV4.finditer(text):
        try:
            addr = ipaddress.IPv4Address(m.group())
        except ValueError:
            continue
        before = _before(text, m.start())
        if _VERSION_WORDS.search(before) or (max(addr.packed) < 32 and not _IP_WORDS.search(before)):
            out.append(Found(m.start(), m.end(), "ip", False))  # a version: claimed, kept
            continue
        out.append(_ip_found(m.start(), m.end(), addr, opt))
    return out


def ipv6s(text: str, opt: Options) -> list[Found]:
    if "::" not in text and (text.count(":") < 7 or not _IPV6_HINT.search(text)):
        return []
    out = []
    for m in _IPV6.finditer(text):
        s = m.group()
        if not any(c.isalnum() for c in s):
            continue  # "::" alone is punctuation in prose far more often than an address
        try:
            addr = ipaddress.IPv6Address(s)
        except ValueError:
            continue
        out.append(_ip_found(m.start(), m.end(), addr, opt))
    return out


# ------------------------------------------------------------------------------ digits
def _scan(pattern: re.Pattern, text: str, accept: Callable[[str, str], str | None]) -> list[tuple[int, str]]:
    """(start, match) for each candidate of ``pattern`` that ``accept(candidate, left
    context)`` turns into a match (the candidate or a prefix of it). A refused candidate
    is retried from its next character, so ``82277. 03 97 99 41 71`` still yields the
    number after the full stop (the patterns' look-behinds stop a retry inside a number)."""
    out, pos = [], 0
    while (m := pattern.search(text, pos)) is not None:
        got = accept(m.group(), _before(text, m.start()))
        if got is None:
            pos = m.start() + 1
        else:
            out.append((m.start(), got))
            pos = m.start() + len(got)
    return out


def _prefixes(s: str, min_digits: int):
    """``s``, then its prefixes cut before each separator, longest first: a candidate that
    swallowed a following number (``(212) 555-0199 12 items``) still yields the phone."""
    yield s
    for i in range(len(s) - 1, 0, -1):
        if s[i] in " .-" and (s[i - 1].isdigit() or s[i - 1] == ")"):
            head = s[:i]
            if sum(c.isdigit() for c in head) < min_digits:
                return
            yield head


# ------------------------------------------------------------------------------ phone
_PHONE = re.compile(r"[+(\d](?<![\w+./-][+(\d])(?<!\d:[+(\d])(?:(?<=[+(])\d|(?<=\d))[\d ().-]{5,22}\d(?!\d|[.-]\d)")
_NANP = re.compile(r"(?:1[ .-]?)?(?:\([2-9]\d\d\) ?|[2-9]\d\d([ .-]))[2-9]\d\d([ .-])\d{4}")
_TRUNK = re.compile(r"0\d{1,4}(?:[ -]\d{2,7}){1,4}")
_BAD_SEPARATORS = re.compile(r"[ .-]{2}|[.-]\(|\)[.-]|\d\(|\)\d")
# Digits of a full international number (country code included) for common country codes
# (ITU-T E.164 national plans); others: 8-15.
_CC_DIGITS = {"1": (11, 11), "7": (11, 11), "20": (11, 12), "27": (11, 11), "30": (12, 12), "31": (11, 11),
              "32": (10, 11), "33": (11, 11), "34": (11, 11), "36": (10, 11), "39": (10, 13), "41": (11, 11),
              "43": (10, 13), "44": (11, 12), "45": (10, 10), "46": (9, 12), "47": (10, 10), "48": (11, 11),
              "49": (10, 14), "52": (12, 12), "55": (12, 13), "61": (11, 11), "62": (10, 13), "63": (11, 12),
              "64": (10, 12), "65": (10, 10), "81": (11, 12), "82": (11, 12), "86": (12, 13), "90": (12, 12),
              "91": (12, 12), "351": (12, 12), "353": (11, 12), "852": (11, 11), "971": (11, 12)}
# Ofcom's numbers for drama, in national form.
_UK_DRAMA = ("07700900", "02079460", "01632960", "01134960", "01144960", "01154960", "01164960",
             "01174960", "01184960", "01214960", "01314960", "01414960", "01514960", "01614960",
             "02896496", "02920180", "08081570", "09098790", "03069990")


def example_phone(digits: str) -> bool:
    """North American 555-01XX (reserved for fiction) and the UK's Ofcom drama ranges."""
    nanp = digits[1:] if len(digits) == 11 and digits[0] == "1" else digits
    if len(nanp) == 10 and nanp[3:6] == "555" and nanp[6:8] == "01":
        return True
    if len(nanp) == 7 and nanp[:3] == "555" and nanp[3:5] == "01":
        return True
    uk = "0" + digits[2:] if digits.startswith("44") else digits
    return uk.startswith(_UK_DRAMA)


def _international(digits: str) -> bool:
    """``digits`` (after ``+`` or ``00``) is as long as its country's numbers are."""
    for n in (1, 2, 3):
        if digits[:n] in _CC_DIGITS:
            lo, hi = _CC_DIGITS[digits[:n]]
            return lo <= len(digits) <= hi
    return 8 <= len(digits) <= 15


def _phone_shape(s: str, digits: str) -> bool:
    """True when the candidate has a phone number's shape without any context."""
    if "." in s and "-" in s:
        return False
    if s[0] == "+":
        return _international(digits)
    if re.match(r"00[1-9]", s):  # only for the common country codes: 00 starts many numbers
        return any(digits[2:2 + n] in _CC_DIGITS for n in (1, 2, 3)) and _international(digits[2:])
    if re.fullmatch(r"0[1-9]\d{8,9}", s):
        return True  # a national number with its trunk 0, written without spaces (UK SMS)
    m = _NANP.fullmatch(s)
    if m and (m.group(1) in (None, " ") or m.group(1) == m.group(2)):
        return True
    return "." not in s and 10 <= len(digits) <= 11 and bool(_TRUNK.fullmatch(s))


def _phone_at(s: str, before: str) -> str | None:
    """The phone number ``s`` starts with (``before``: the text left of it), or None.
    Any shape: the longest prefix with a phone's shape. After a phone word: the longest
    prefix of 7-11 digits (a national number; longer runs are ids or several numbers).
    A trunk 0 in parentheses after the country code (``+44 (0)20 ...``) is not dialled."""
    context = bool(_PHONE_WORDS.search(before))  # "mobile no." is a phone word, not an id
    if not context and _ID_WORDS.search(before):
        return None
    for cand in _prefixes(s, 7):
        c = cand.replace(" (0)", " ", 1) if cand[0] == "+" else cand
        if _BAD_SEPARATORS.search(c) or c.count("(") != c.count(")"):
            continue
        digits = re.sub(r"\D", "", c)
        if _phone_shape(c, digits):
            return cand
        if context and 7 <= len(digits) <= 11 and c[0] != "(":
            return cand
    return None


def phones(text: str, opt: Options) -> list[Found]:
    out = []
    for start, s in _scan(_PHONE, text, _phone_at):
        keep = example_phone(re.sub(r"\D", "", s)) and not opt.redact_examples
        out.append(Found(start, start + len(s), "phone", not keep))
    return out


# ------------------------------------------------------------------------------ card
_CARD = re.compile(r"\d(?<![\w.:/-]\d)(?:[ -]?\d){12,18}(?![\w]|[.-]\d)")
_LAYOUTS = {(4, 4, 4, 4), (4, 4, 4, 4, 3), (4, 4, 4, 4, 2), (4, 4, 4, 1), (4, 6, 5), (4, 6, 4),
            (4, 4, 4, 4, 1)}
_ISSUER = re.compile(
    r"4|5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720)|3[47]|6(?:011|5|4[4-9])|35(?:2[89]|[3-8]\d)|"
    r"3(?:0[0-5]|[68])|62|5[06-9]|6[0-9]"
)
TEST_CARDS = frozenset({
    "4111111111111111", "4242424242424242", "4012888888881881", "4000056655665556",
    "5555555555554444", "5105105105105100", "5200828282828210", "2223003122003222",
    "378282246310005", "371449635398431", "378734493671000", "6011111111111117",
    "6011000990139424", "3530111333300000", "3566002020360505", "30569309025904",
    "38520000023237", "6200000000000005", "4222222222222",
})


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card_at(s: str, before: str, issuers: bool) -> str | None:
    """The card number ``s`` starts with, or None."""
    if _ID_WORDS.search(before):
        return None
    for cand in _prefixes(s, 13):
        seps = set(cand) - set("0123456789")
        if len(seps) > 1:
            continue
        digits = cand.replace(" ", "").replace("-", "")
        if seps and tuple(len(g) for g in re.split(r"[ -]", cand)) not in _LAYOUTS:
            continue
        if not seps and len(digits) > 16:
            continue  # an ungrouped run this long is an id far more often than a card
        if luhn_ok(digits) and (not issuers or _ISSUER.match(digits)):
            return cand
    return None


def cards(text: str, opt: Options) -> list[Found]:
    out = []
    for start, s in _scan(_CARD, text, lambda c, b: _card_at(c, b, opt.card_issuers)):
        digits = s.replace(" ", "").replace("-", "")
        out.append(Found(start, start + len(s), "card", opt.redact_examples or digits not in TEST_CARDS))
    return out


# Order matters: a later detector never redacts characters an earlier one claimed.
DETECTORS: tuple[tuple[str, Callable[[str, Options], list[Found]]], ...] = (
    ("email", emails), ("card", cards), ("ip", ipv6s), ("ip", ipv4s), ("phone", phones),
)


_WORTH_LOOKING = re.compile(r"[\d@]|::")


def find(text: str, kinds: tuple[str, ...] = KINDS, opt: Options | None = None) -> list[Found]:
    """Every PII-shaped string of ``kinds`` in ``text``, in text order, overlaps resolved
    in favour of the earlier detector; kept ones (``redact`` False) included."""
    opt = opt or Options()
    if not _WORTH_LOOKING.search(text):
        return []
    claimed: list[Found] = []  # sorted by start, never overlapping
    for kind, detect in DETECTORS:
        if kind not in kinds:
            continue
        for f in detect(text, opt):
            i = bisect.bisect_left(claimed, f.start, key=lambda c: c.start)
            if (i > 0 and claimed[i - 1].end > f.start) or (i < len(claimed) and claimed[i].start < f.end):
                continue
            claimed.insert(i, f)
    return claimed
