"""``url``: drop documents whose URL is on a blocklist or carries banned words.

Lists (each its own reason code ``url.<list>``):
- ``lists``: UT1 categories from the pinned ``datatrove`` wheel (``url_lists``; the wheel
  carries ``adult`` only, the default): a domain list and a URL list each.
- ``domains_files`` / ``urls_files``: a user's files, one entry a line, ``#`` comments; the
  reason is the file's stem (``blocked-sites.txt`` -> ``url.blocked_sites``).
- ``banned_words`` (``url.banned_word``): whole words of the URL, lowercased and split on
  every non-alphanumeric character (DataTrove's rule), so ``sex`` blocks ``/sex-videos/`` but
  not ``/sussex/``; an entry of several words matches them in a row.
- ``banned_subwords`` (``url.banned_subword``): substrings of the URL with every
  non-alphanumeric character removed, so ``2 girls 1 cup`` blocks ``/2-girls-1-cup``.
- ``builtin_words: true`` adds DataTrove's three word lists from the wheel to the above, and
  its soft-banned words (``url.soft_banned_words``: two or more of them in one URL), which
  makes this filter decide as DataTrove's ``URLFilter`` with its integrated lists.
- ``exclusions``: domains never blocked (an allow-list; each covers its subdomains).

Domain matching is by host and parent domain, never by substring: ``a.b.evil.com`` is looked
up as ``a.b.evil.com``, ``b.evil.com`` and ``evil.com``; ``notevil.com`` is not ``evil.com``.
It stops at the registered domain (one label below the public suffix, from the Public Suffix
List snapshot bundled with ``tldextract``, its private section included): an entry that is
itself a public suffix (UT1 adult lists ``xxx``, ``sa.com``, ``dynu.net``, 16 such) blocks
only that exact host, never every site registered under it. DataTrove's ``URLFilter``
matches the host and its registered domain only, so it misses ``a.b.evil.com`` when
``b.evil.com`` is listed (``benchmarks/url_filter.py`` counts such URLs). URL entries are ``host/path`` prefixes
ending at a path boundary (``url_lists.UrlPrefixes``), not substrings: a substring would let
``example.com/x`` block ``notexample.com/x``. (DataTrove compares the whole URL, scheme
included, with UT1's scheme-less entries, so its URL list never matches.)

Every document with a URL gets the score ``url.blocked`` (1 or 0); a blocked one has
value = threshold = 1 and ``metadata["url.match"]`` (the entry or word that matched). A
document without a URL is kept, with ``metadata["url.status"] = "missing"``; a URL with no
host gets ``"no_host"`` (words are still checked), an excluded one ``"excluded"``.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gristmill.filters import url_lists
from gristmill.filters.base import Filter, Verdict

if TYPE_CHECKING:  # Document is only annotated: declaring filters needs no pyarrow
    from gristmill.schemas import Document

_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_AUTHORITY_END = re.compile(r"[/?#\\]")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_NAME = re.compile(r"[^a-z0-9_]+")
_SPACE = re.compile(r"\s")
WORD_REASONS = ("banned_word", "banned_subword", "soft_banned_words")
SOFT_WORD_THRESHOLD = 2  # DataTrove URLFilter's soft_word_threshold
# Longer is no DNS name (RFC 1035: 253 characters), and its parent domains would cost the
# square of its length: such a URL has no host (its words are still checked).
MAX_HOST_CHARS = 253


# ---------------------------------------------------------------------------------------------
# URLs to hosts


def split_url(url: str) -> tuple[str | None, str]:
    """(host, rest) of ``url``: the host lowercased, ASCII (IDNA), without user, port or final
    dot, None when there is none (or it is no DNS name); the rest is the path, query and fragment, lowercased.

    Parsed by hand rather than with ``urllib.parse.urlsplit``, which raises on crawl URLs
    such as ``http://[::1`` and needs a scheme; a URL without one (``example.com/page``)
    starts with its host here."""
    s = url.strip()
    m = _SCHEME.match(s)
    if m:
        s = s[m.end():]
    cut = _AUTHORITY_END.search(s)
    authority, rest = (s[:cut.start()], s[cut.start():]) if cut else (s, "")
    host = authority.rpartition("@")[2]
    if host.startswith("["):  # an IPv6 literal
        end = host.find("]")
        host = host[1:end] if end > 0 else ""
    else:
        host = host.partition(":")[0]
    host = host.strip().rstrip(".").lower()
    if not host or len(host) > MAX_HOST_CHARS or _SPACE.search(host):
        return None, rest.lower()
    return url_lists.ascii_host(host), rest.lower()


@functools.cache
def _suffixes() -> Any:
    """tldextract over its bundled Public Suffix List snapshot: no network, no cache files."""
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)


@functools.lru_cache(maxsize=1 << 16)
def candidates(host: str) -> tuple[str, ...]:
    """``host`` and its parent domains down to its registered domain, longest first.

    An IP address, a single label or a host that is itself a public suffix gives only
    itself. Remembered for recent hosts: a crawl visits each many times."""
    if ":" in host or host.replace(".", "").isdigit():
        return (host,)
    labels = host.split(".")
    suffix = _suffixes().extract_str(host).suffix
    keep = max(len(suffix.split(".")) + 1 if suffix else 2, 2)  # labels of the registered domain
    return tuple(".".join(labels[i:]) for i in range(len(labels) - keep + 1)) or (host,)


def parents(host: str) -> tuple[str, ...]:
    """``host`` and every parent domain, public suffixes included (for ``exclusions``)."""
    labels = host.split(".")
    return tuple(".".join(labels[i:]) for i in range(len(labels)))


# ---------------------------------------------------------------------------------------------
# the filter


def _as_list(v: Any) -> list[str]:
    return [v] if isinstance(v, str) else [str(x) for x in (v or [])]


def list_name(path: str) -> str:
    """The reason code a user's list file gives: its stem, lowercased, ``[a-z0-9_]``."""
    return _NAME.sub("_", Path(path).stem.lower()).strip("_")


class UrlFilter(Filter):
    """Reject a document whose URL is blocked by a configured list (module docstring)."""

    name = "url"
    version = "1"
    # Instances declare their own (one per configured list): these are the built-in ones.
    reasons = (*url_lists.UT1_CATEGORIES, *WORD_REASONS)
    reasons_note = "url.<file stem>, one per domains_files / urls_files entry"

    def __init__(
        self,
        lists: list[str] | str | None = ("adult",),
        domains_files: list[str] | str | None = None,
        urls_files: list[str] | str | None = None,
        banned_words: list[str] | str | None = None,
        banned_subwords: list[str] | str | None = None,
        exclusions: list[str] | str | None = None,
        builtin_words: bool = False,
    ) -> None:
        self.lists = _as_list(lists)
        self.domains_files = _as_list(domains_files)
        self.urls_files = _as_list(urls_files)
        self.banned_words = _as_list(banned_words)
        self.banned_subwords = _as_list(banned_subwords)
        self.exclusions = _as_list(exclusions)
        self.builtin_words = bool(builtin_words)
        unknown = [c for c in self.lists if c not in url_lists.UT1_CATEGORIES]
        if unknown:
            raise ValueError(f"url: unknown list {unknown[0]!r}; the datatrove wheel carries the UT1 "
                             f"categories {list(url_lists.UT1_CATEGORIES)} (use domains_files for others)")
        for p in (*self.domains_files, *self.urls_files):
            if not Path(p).is_file():
                raise ValueError(f"url: list file {p!r} not found")
        self.reasons = self._declare()  # type: ignore[misc]
        self._ready = False

    def _declare(self) -> tuple[str, ...]:
        """The reasons this configuration can give: one per list, then the word reasons."""
        names = list(dict.fromkeys(self.lists))
        for kind in (self.domains_files, self.urls_files):
            own = [list_name(p) for p in kind]
            for p, n in zip(kind, own, strict=True):
                if not n or own.count(n) > 1 or n in self.lists or n in WORD_REASONS:
                    raise ValueError(f"url: list file {p!r} would report as url.{n or '?'}, which "
                                     f"another list has; rename the file (its stem is the reason code)")
            names += [n for n in own if n not in names]
        words = self.builtin_words or self.banned_words
        subwords = self.builtin_words or self.banned_subwords
        names += [r for r, on in zip(WORD_REASONS, (words, subwords, self.builtin_words), strict=True) if on]
        if not names:
            raise ValueError("url: nothing to match; give lists, domains_files, urls_files or banned words")
        return tuple(names)

    def params(self) -> dict[str, Any]:
        return {k: v for k, v in super().params().items() if k != "reasons"}

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()  # the mapped lists are loaded again by setup()
        for k in ("_domains", "_urls", "_words", "_phrases", "_subwords", "_soft", "_excluded"):
            state.pop(k, None)
        state["_ready"] = False
        return state

    def setup(self) -> None:
        """Load (compiling on first use) the lists: milliseconds once compiled in the cache."""
        if self._ready:
            return
        self._domains: list[tuple[str, url_lists.DomainSet]] = []
        self._urls: list[tuple[str, url_lists.UrlPrefixes]] = []
        for category in dict.fromkeys(self.lists):
            domains, urls = url_lists.ut1_category(category)
            self._domains.append((category, domains))
            self._urls.append((category, urls))
        self._domains += [(list_name(p), url_lists.domains_file(Path(p))) for p in self.domains_files]
        self._urls += [(list_name(p), url_lists.urls_file(Path(p))) for p in self.urls_files]
        self._load_words()
        self._excluded = {d for d in map(url_lists.domain_entry, self.exclusions) if d}
        candidates("www.example.co.uk")  # loads the suffix list now, not on the first document
        self._ready = True

    def _load_words(self) -> None:
        words, subwords, soft = list(self.banned_words), list(self.banned_subwords), []
        if self.builtin_words:
            words += url_lists.word_list("banned_words")
            subwords += url_lists.word_list("banned_subwords")
            soft = url_lists.word_list("soft_banned_words")
        split = [tuple(w for w in _NON_ALNUM.split(x.lower()) if w) for x in words]
        self._words = {s[0] for s in split if len(s) == 1}
        self._phrases = sorted({" ".join(s) for s in split if len(s) > 1})
        self._subwords = sorted({k for k in (_NON_ALNUM.sub("", x.lower()) for x in subwords) if k})
        self._soft = {w.lower() for w in soft}

    # matching ---------------------------------------------------------------------------------
    def check(self, url: str) -> tuple[str | None, str]:
        """(short reason or None, what matched or the URL's status) for one URL."""
        self.setup()
        host, rest = split_url(url)
        if host is not None:
            if self._excluded and any(p in self._excluded for p in parents(host)):
                return None, "excluded"
            hit = self._match_host(host, rest)
            if hit:
                return hit
        hit = self._match_words(url.lower())
        if hit:
            return hit
        return None, "" if host is not None else "no_host"

    def _match_host(self, host: str, rest: str) -> tuple[str, str] | None:
        cands = candidates(host)
        keys = [url_lists.domain_hash(c) for c in cands]
        for name, domains in self._domains:
            for c, k in zip(cands, keys, strict=True):
                if domains.contains_hash(k):
                    return name, c
        bare = url_lists.strip_www(host)
        for name, urls in self._urls:
            entry = urls.match(bare, rest)
            if entry:
                return name, entry
        return None

    def _match_words(self, url: str) -> tuple[str, str] | None:
        tokens = [t for t in _NON_ALNUM.split(url) if t]
        if self._words:
            hit = next((t for t in tokens if t in self._words), None)
            if hit:
                return "banned_word", hit
        if self._phrases:
            joined = f" {' '.join(tokens)} "
            hit = next((p for p in self._phrases if f" {p} " in joined), None)
            if hit:
                return "banned_word", hit
        if self._subwords:
            squeezed = "".join(tokens)
            hit = next((s for s in self._subwords if s in squeezed), None)
            if hit:
                return "banned_subword", hit
        if self._soft:
            soft = sorted(self._soft.intersection(tokens))
            if len(soft) >= SOFT_WORD_THRESHOLD:
                return "soft_banned_words", " ".join(soft)
        return None

    def __call__(self, doc: Document) -> Verdict:
        if not doc.url or not doc.url.strip():
            return Verdict(keep=True, info={"url.status": "missing"})
        reason, detail = self.check(doc.url)
        if reason is not None:
            return self.reject(reason, 1.0, 1.0, {"url.blocked": 1.0}, info={"url.match": detail})
        return Verdict(keep=True, scores={"url.blocked": 0.0}, info={"url.status": detail} if detail else {})
