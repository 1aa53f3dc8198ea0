"""A labelled evaluation set for the ``pii`` filter: real text, planted PII, planted lookalikes.

Base texts are real documents of the demo corpus (fortunes, SMS, literature); texts that
already hold an ``@`` or a long digit run are left out, so every PII-shaped string of an
evaluation text is one we planted and labelled. Into each text we insert, at sentence or
line boundaries, short sentences carrying

- **PII** of each kind (label = the kind): e-mail addresses on real-world domains, global
  IPv4/IPv6 addresses, phone numbers in North American, UK, French and German formats
  (bare digit strings only after a phone word, as people write them), and Luhn-valid card
  numbers of the major networks, grouped or not;
- **lookalikes** that must survive (label = ``keep:<type>``): versions, dates, ISBN-10/13,
  lat/long pairs, order numbers, phone-like arithmetic, invalid-Luhn card numbers,
  timestamps, long ids, times, MAC addresses, and the documentation examples and private
  addresses the filter keeps by default.

The generator is deterministic (``random.Random(seed)``, base texts in corpus order).
``score`` gives span-level precision and recall per kind: a predicted span counts when its
start, end and kind equal a label's.
"""

from __future__ import annotations

import ipaddress
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from gristmill.filters.pii_patterns import KINDS, TEST_CARDS, luhn_ok

Label = tuple[int, int, str]  # start, end, kind ("email", ...) or "keep:<type>"


@dataclass
class Labelled:
    text: str
    labels: list[Label] = field(default_factory=list)


_HAS_PII_SHAPE = re.compile(r"@|\d[\d ().:-]{4,}\d")


def usable_base(text: str) -> bool:
    """A real text we can plant into: no ``@``, no digit run that could be PII already."""
    return len(text) >= 40 and not _HAS_PII_SHAPE.search(text)


# ----------------------------------------------------------------------------- PII values
_DOMAINS = ("gmail.com", "yahoo.co.uk", "outlook.com", "hotmail.fr", "web.de", "proton.me",
            "mail.ru", "uni-heidelberg.de", "cs.stanford.edu", "ox.ac.uk", "orange-business.com",
            "t-online.de", "btinternet.com", "icloud.com", "posteo.net")


def _email(r: random.Random, words: list[str]) -> str:
    a, b = r.choice(words).lower(), r.choice(words).lower()
    local = r.choice([f"{a}.{b}", f"{a}{r.randint(1, 99)}", f"{a[0]}.{b}", f"{a}_{b}", f"{a}+news",
                      f"{a.capitalize()}.{b.capitalize()}", f"{a}-{b}"])
    address = f"{local}@{r.choice(_DOMAINS)}"
    return address.upper() if r.random() < 0.1 else address


def _global_ip(r: random.Random, version: int) -> str:
    while True:
        if version == 4:
            addr: ipaddress._BaseAddress = ipaddress.IPv4Address(r.getrandbits(32))
        else:
            addr = ipaddress.IPv6Address((0x2 << 124) | r.getrandbits(124))  # 2000::/4
        if addr.is_global and not any(addr in n for n in _DOC_NETS if n.version == version):
            break
    if version == 6 and r.random() < 0.3:
        return addr.exploded
    return str(addr)


_DOC_NETS = tuple(ipaddress.ip_network(n) for n in
                  ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"))


def _d(r: random.Random, n: int, first: str = "0123456789") -> str:
    return r.choice(first) + "".join(r.choice("0123456789") for _ in range(n - 1))


def _phone(r: random.Random) -> tuple[str, bool]:
    """A phone number and whether it needs a phone word before it (bare digits)."""
    area, exch, line = _d(r, 3, "23456789"), _d(r, 3, "2346789"), _d(r, 4)
    uk_london, uk_mob = "20 " + _d(r, 4, "38") + " " + _d(r, 4), "7" + _d(r, 3, "1234589") + " " + _d(r, 6)
    forms = [
        (f"({area}) {exch}-{line}", False), (f"{area}-{exch}-{line}", False),
        (f"{area}.{exch}.{line}", False), (f"+1 {area} {exch} {line}", False),
        (f"1-{area}-{exch}-{line}", False), (f"+1 ({area}) {exch}-{line}", False),
        ("0" + uk_london, False), ("0" + uk_mob, False), ("+44 " + uk_london, False),
        ("+44 " + uk_mob, False), ("0" + _d(r, 1, "1234589") + " " + " ".join(_d(r, 2) for _ in range(4)), False),
        ("+33 6 " + " ".join(_d(r, 2) for _ in range(4)), False), ("+49 30 " + _d(r, 7, "123456789"), False),
        ("+49 89 " + _d(r, 8, "123456789"), False), ("+44 (0)" + uk_london, False),
        ("+61 2 " + _d(r, 4, "23456789") + " " + _d(r, 4), False),
        ("+81 3-" + _d(r, 4, "123456789") + "-" + _d(r, 4), False), ("+91 9" + _d(r, 4) + " " + _d(r, 5), False),
        (f"{area} {exch} {line}", False), (f"+1.{area}.{exch}.{line}", False), ("09" + _d(r, 9), True), ("07" + _d(r, 9, "1234589"), True),
        (area + exch + line, True),
    ]
    return r.choice(forms)


_ISSUERS = (("4", 16), ("51", 16), ("53", 16), ("55", 16), ("2221", 16), ("2720", 16), ("34", 15),
            ("37", 15), ("6011", 16), ("3530", 16), ("36", 14))


def _luhn_complete(body: str) -> str:
    return next(body + c for c in "0123456789" if luhn_ok(body + c))


def _card(r: random.Random, valid: bool = True) -> str:
    while True:
        prefix, n = r.choice(_ISSUERS)
        digits = _luhn_complete(prefix + _d(r, n - len(prefix) - 1))
        if not valid:
            digits = digits[:-1] + str((int(digits[-1]) + r.randint(1, 9)) % 10)
        if digits not in TEST_CARDS:
            break
    layout = {15: (4, 6, 5), 14: (4, 6, 4)}.get(n, (4, 4, 4, 4))
    sep = r.choice([" ", "-", ""])
    groups, i = [], 0
    for g in layout:
        groups.append(digits[i:i + g])
        i += g
    return sep.join(groups)


# ----------------------------------------------------------------------------- lookalikes
def _isbn10(r: random.Random) -> str:
    body = _d(r, 9)
    c = sum((10 - i) * int(x) for i, x in enumerate(body)) % 11
    check = "0123456789X"[(11 - c) % 11]
    return r.choice([f"{body[0]}-{body[1:4]}-{body[4:9]}-{check}", body + check])


def _isbn13(r: random.Random) -> str:
    body = r.choice(["978", "979"]) + _d(r, 9)
    check = (10 - sum((3 if i % 2 else 1) * int(x) for i, x in enumerate(body)) % 10) % 10
    d = body + str(check)
    return r.choice([f"{d[:3]}-{d[3]}-{d[4:7]}-{d[7:12]}-{d[12]}", d])


def _lookalike(r: random.Random, kind: str) -> tuple[str, str]:
    """A (template, value) pair: the value must survive the filter with default options."""
    y, mo, da = r.randint(1900, 2030), r.randint(1, 12), r.randint(1, 28)
    a, b, c = r.randint(100, 999), r.randint(100, 999), r.randint(1000, 9999)
    return {
        "version": lambda: (r.choice(["Upgrade to version {}.", "Fixed in release {}.", "build {} is out",
                                      "Firefox {} crashed", "with gcc {} and"]),
                            ".".join(str(r.randint(0, 20)) for _ in range(r.choice([3, 4, 4])))),
        "zip": lambda: ("Beverly Hills, CA {}", f"9{_d(r, 4)}-{_d(r, 4)}"),
        "page_range": lambda: (r.choice(["pp. {}", "Vol. 12 {}"]),
                               r.choice([f"{c}-{c + 33}", f"({y}) {a}-{a + 22}"])),
        "money": lambda: (r.choice(["for {} in total", "a bill of {}"]),
                          r.choice([f"${a},{b},{c % 1000:03d}.99", f"{a} {b} {c % 1000:03d} EUR"])),
        "date": lambda: (r.choice(["on {}.", "dated {}", "({})"]),
                         r.choice([f"{y}-{mo:02d}-{da:02d}", f"{da:02d}/{mo:02d}/{y}", f"{da:02d}.{mo:02d}.{y}",
                                   f"{y}{mo:02d}{da:02d}"])),
        "isbn": lambda: ("ISBN {}", r.choice([_isbn10(r), _isbn13(r)])),
        "coordinates": lambda: ("located at {}.", f"{r.uniform(-89, 89):.4f}, {r.uniform(-179, 179):.4f}"),
        "order": lambda: (r.choice(["Order #{} has shipped.", "order no. {} was cancelled", "invoice {}"]),
                          r.choice([_d(r, 10, "123456789"), f"{_d(r, 4)}-{_d(r, 4)}-{_d(r, 4)}"])),
        "math": lambda: (r.choice(["so {}.", "{} exactly"]),
                         r.choice([f"{a} + {b} + {c} = {a + b + c}", f"{c} - {a} - {b} = {c - a - b}",
                                   f"{a} x {b} = {a * b}"])),
        "invalid_luhn": lambda: ("Card {} was declined.", _card(r, valid=False)),
        "timestamp": lambda: (r.choice(["at {}", "ts={}"]),
                              r.choice([f"{y}-{mo:02d}-{da:02d}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:00Z",
                                        str(r.randint(1_000_000_000_000, 1_800_000_000_000))])),
        "long_id": lambda: (r.choice(["id {}", "commit {}", "tracking {}"]), _d(r, r.randint(12, 22), "123456789")),
        "time": lambda: ("at {}", f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}"),
        "mac": lambda: ("MAC {}", ":".join(f"{r.randint(0, 255):02x}" for _ in range(6))),
        "example_email": lambda: ("Write to {}.", f"{r.choice(['user', 'alice', 'bob'])}@"
                                  f"{r.choice(['example.com', 'mail.example.org', 'example.net', 'host.example'])}"),
        "example_ip": lambda: ("e.g. {}", r.choice([f"192.0.2.{r.randint(1, 254)}", f"198.51.100.{r.randint(1, 254)}",
                                                     f"203.0.113.{r.randint(1, 254)}", f"2001:db8::{r.randint(1, 999)}"])),
        "example_phone": lambda: ("Call {}.", f"({_d(r, 3, '23456789')}) 555-01{r.randint(0, 99):02d}"),
        "example_card": lambda: ("test card {}", r.choice(sorted(TEST_CARDS))),
        "private_ip": lambda: ("from {}", r.choice([f"192.168.{r.randint(0, 255)}.{r.randint(1, 254)}",
                                                    f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}",
                                                    "127.0.0.1", "fe80::1", "::1"])),
    }[kind]()


LOOKALIKES = ("version", "zip", "page_range", "money", "date", "isbn", "coordinates", "order", "math", "invalid_luhn", "timestamp",
              "long_id", "time", "mac", "example_email", "example_ip", "example_phone", "example_card",
              "private_ip")

_TEMPLATES = {
    "email": ["Write to {} for details.", "Contact: {}", "(mailto:{})", "email {} if lost", "{}", "<{}>"],
    "ip": ["The request came from {}.", "blocked host {} again", "[{}]:443", "{} -", "ip={}&port=80",
           "http://{}/admin"],
    "phone": ["Call me on {}.", "Tel. {}", "Our office: {} (mornings).", "{}"],
    "card": ["Card number: {}", "paid with {} yesterday", "{}"],
}
_CONTEXT_PHONE = ["Call {} now!", "txt or call {} today", "Phone: {}", "ring me on {}"]


def _pii(r: random.Random, kind: str, words: list[str]) -> tuple[str, str]:
    if kind == "email":
        return r.choice(_TEMPLATES["email"]), _email(r, words)
    if kind == "ip":
        return r.choice(_TEMPLATES["ip"]), _global_ip(r, r.choice([4, 4, 6]))
    if kind == "card":
        return r.choice(_TEMPLATES["card"]), _card(r)
    number, bare = _phone(r)
    return r.choice(_CONTEXT_PHONE if bare else _TEMPLATES["phone"]), number


# ----------------------------------------------------------------------------- planting
_BOUNDARY = re.compile(r"(?<=[.!?]) |\n")


def plant(text: str, items: list[tuple[str, str, str]], r: random.Random) -> Labelled:
    """Insert each (template, value, label) as a sentence at a random boundary of ``text``."""
    cuts = sorted({0, len(text)} | {m.end() for m in _BOUNDARY.finditer(text)})
    at = sorted(r.choice(cuts) for _ in items)
    out, labels, pos = [], [], 0
    for cut, (template, value, label) in zip(at, items, strict=True):
        out.append(text[pos:cut])
        pos = cut
        head, _, tail = template.partition("{}")
        prefix = "".join(out) + ("" if cut == 0 or text[cut - 1] in " \n" else " ") + head
        labels.append((len(prefix), len(prefix) + len(value), label))
        out = [prefix, value, tail + " "]
    out.append(text[pos:])
    return Labelled("".join(out), labels)


def build(base_texts: Iterable[str], n_docs: int = 400, seed: int = 16, max_chars: int = 1200) -> list[Labelled]:
    """``n_docs`` labelled texts (fewer if the base runs out): each gets 1-3 PII items
    (kinds in turn, so each kind has the same count) and 1-3 lookalikes (types in turn)."""
    r = random.Random(seed)
    bases = [t[:max_chars] for t in base_texts if usable_base(t)]
    out: list[Labelled] = []
    k = lk = 0
    for text in bases[:n_docs]:
        words = [w for w in re.findall(r"[A-Za-z]{3,10}", text)] or ["reader"]
        items = []
        for _ in range(r.randint(1, 3)):
            kind = KINDS[k % len(KINDS)]
            k += 1
            items.append((*_pii(r, kind, words), kind))
        for _ in range(r.randint(1, 3)):
            look = LOOKALIKES[lk % len(LOOKALIKES)]
            lk += 1
            items.append((*_lookalike(r, look), f"keep:{look}"))
        r.shuffle(items)
        out.append(plant(text, items, r))
    return out


def demo_texts(per_source: int = 400) -> list[str]:
    """Real texts from the demo corpus sources (pinned packages, cached), interleaved."""
    from gristmill.data.demo import SOURCE_ROWS

    pools = [[row["text"] for row in gen()] for gen in SOURCE_ROWS.values()]
    pools = [[t for t in p if usable_base(t)][:per_source] for p in pools]
    return [t for group in zip(*pools, strict=False) for t in group]


# ----------------------------------------------------------------------------- scoring
@dataclass
class Scores:
    tp: dict[str, int]
    fp: dict[str, int]
    fn: dict[str, int]
    kept: dict[str, tuple[int, int]]  # lookalike type -> (survived, planted)

    def precision(self, kind: str) -> float:
        return self.tp[kind] / max(1, self.tp[kind] + self.fp[kind])

    def recall(self, kind: str) -> float:
        return self.tp[kind] / max(1, self.tp[kind] + self.fn[kind])


def score(docs: list[Labelled], find: Callable[[str], list]) -> Scores:
    """Span-level precision/recall per kind of ``find`` (``PII.find``) on ``docs``; and per
    lookalike type, how many survived (no predicted span overlaps them)."""
    tp, fp, fn = (dict.fromkeys(KINDS, 0) for _ in range(3))
    kept: dict[str, list[int]] = {t: [0, 0] for t in LOOKALIKES}
    for d in docs:
        pred = {(f.start, f.end, f.kind) for f in find(d.text)}
        gold = {lab for lab in d.labels if not lab[2].startswith("keep:")}
        for s, e, kind in pred:
            (tp if (s, e, kind) in gold else fp)[kind] += 1
        for lab in gold - pred:
            fn[lab[2]] += 1
        for s, e, label in d.labels:
            if label.startswith("keep:"):
                t = label[5:]
                kept[t][1] += 1
                kept[t][0] += not any(ps < e and s < pe for ps, pe, _ in pred)
    return Scores(tp, fp, fn, {t: (a, b) for t, (a, b) in kept.items()})
