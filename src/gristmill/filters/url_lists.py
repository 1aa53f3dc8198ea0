"""Block lists of the ``url`` filter: read once, compiled into gristmill's cache, mapped by workers.

The UT1 blocklist (Université Toulouse Capitole) comes from the pinned ``datatrove`` wheel
(``data.fetch``), read as data and never imported. Wheel 0.10.1 carries one UT1 category,
``adult``: ``datatrove/assets/url_filterblacklistsv0_3_0.tar.gz`` holds its ``domains``
(4,558,940 lines) and ``urls`` (19,586 lines) files, and ``datatrove/assets/*.txt`` DataTrove's
banned URL words. No other UT1 category is in the wheel.

4.5 million domains as a Python set cost ~400 MB per worker process and ~5 s to build. So a
domain list is compiled once into ``<cache>/url_lists/<key>/``: the sorted 64-bit xxh3 hashes
of its entries (``hashes.npy``, 36 MB for UT1 adult) and a bucket index on their top bits
(``offsets.npy``, 8 MB). Workers map both files read-only (``np.load(mmap_mode="r")``): the
pages are shared by every process on a machine, loading takes milliseconds, and a lookup is a
bisection inside one bucket of ~2 entries. Two different domains share a 64-bit hash with probability
n/2^64 per lookup (2.5e-13 for UT1 adult): a false block is negligible even over a whole crawl.
The key holds the source's sha256 and ``FORMAT``, so a changed source or layout compiles anew.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import json
import os
import re
import shutil
import tarfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import xxhash

if TYPE_CHECKING:  # numpy is imported when a list is loaded: `gristmill filters list` needs none
    import numpy as np

FORMAT = "2"  # bump when the compiled layout or the entry normalization changes
UT1_ARCHIVE = "datatrove/assets/url_filterblacklistsv0_3_0.tar.gz"
UT1_CATEGORIES = ("adult",)  # the categories the pinned wheel carries
# DataTrove's URL word lists in the wheel (``builtin_words``).
WORD_FILES = {
    "banned_words": "datatrove/assets/banned_words.txt",
    "banned_subwords": "datatrove/assets/banned_subwords.txt",
    "soft_banned_words": "datatrove/assets/soft_banned_words.txt",
}
_WWW = re.compile(r"^www\d*\.")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


# ---------------------------------------------------------------------------------------------
# normalization (the same for list entries and for the hosts looked up)


def ascii_host(host: str) -> str:
    """``host`` in the ASCII form lists use: IDNA (punycode) labels for non-ASCII ones.

    A label the IDNA codec refuses (too long, forbidden characters) is kept as it is: it can
    match no list entry, which are ASCII, and it must never raise."""
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        out = []
        for label in re.split("[.\u3002\uff0e\uff61]", host):
            try:
                out.append(label.encode("idna").decode("ascii"))
            except UnicodeError:
                out.append(label)
        return ".".join(out)


def domain_entry(line: str) -> str | None:
    """A domain list line as a lookup key, None for blank and ``#`` comment lines.

    Lowercased, without ``*.`` or a leading dot (``.example.com`` means the domain and its
    subdomains, as every entry does), a trailing dot, or a ``scheme://`` and path. (Tests
    before each rewrite: UT1's 4.5 million lines need none, and compile in seconds.)"""
    s = line.strip().lower()
    if not s or s[0] == "#":
        return None
    if "/" in s:
        s = _SCHEME.sub("", s).split("/", 1)[0]
    if s and (s[0] in "*." or s[-1] == "."):
        s = s.removeprefix("*.").strip(".")
    return ascii_host(s) if s else None


def url_entry(line: str) -> tuple[str, str] | None:
    """A URL list line as (host without ``www.``, path prefix), None for blank and comment lines.

    ``http://www.Example.com/Dir`` and ``example.com/dir`` are the same entry: scheme dropped,
    ``www``/``www2.`` dropped (squidGuard's urllist convention, which UT1 follows),
    lowercased."""
    s = line.strip().lower()
    if not s or s.startswith("#"):
        return None
    s = _SCHEME.sub("", s)
    host, slash, path = s.partition("/")
    host = strip_www(ascii_host(host.strip(".")))
    return (host, slash + path) if host else None


def strip_www(host: str) -> str:
    """``host`` without a leading ``www.`` or ``www2.`` (URL lists are written without it)."""
    return _WWW.sub("", host) if host.startswith("www") else host


def domain_hash(domain: str) -> int:
    """The 64-bit key of a domain in a compiled list."""
    return xxhash.xxh3_64_intdigest(domain.encode("utf-8", "surrogatepass"))


# ---------------------------------------------------------------------------------------------
# compiled lists


class DomainSet:
    """A compiled domain list: membership by hash, in files mapped read-only."""

    def __init__(self, hashes: np.ndarray, offsets: np.ndarray) -> None:
        self._hashes = hashes  # kept so the mapping stays open
        self._offsets = offsets
        self._h = memoryview(hashes).cast("B").cast("Q")  # plain ints, no numpy call per lookup
        self._off = memoryview(offsets).cast("B").cast("I")
        self._shift = 64 - ((len(offsets) - 1).bit_length() - 1)  # a hash's top bits: its bucket

    def __len__(self) -> int:
        return len(self._h)

    def contains_hash(self, x: int) -> bool:
        b = x >> self._shift
        lo, hi = self._off[b], self._off[b + 1]
        i = bisect.bisect_left(self._h, x, lo, hi)
        return i < hi and self._h[i] == x

    def __contains__(self, domain: str) -> bool:
        return self.contains_hash(domain_hash(domain))

    @classmethod
    def load(cls, folder: Path) -> DomainSet:
        import numpy as np

        return cls(np.load(folder / "hashes.npy", mmap_mode="r"), np.load(folder / "offsets.npy", mmap_mode="r"))


def _bucket_bits(n: int) -> int:
    """Index bits for n hashes: 2 to 4 hashes a bucket (21 bits, 8 MB, for UT1 adult)."""
    return max(1, n.bit_length() - 2)


def hash_index(keys: Iterable[str]) -> DomainSet:
    """A domain set of ``keys`` in memory: their distinct hashes, sorted, and the bucket index."""
    import numpy as np

    hashes = np.fromiter(map(xxhash.xxh3_64_intdigest, map(str.encode, keys)), dtype=np.uint64)
    hashes.sort()  # then drop repeats (np.unique's hash table is ten times slower here)
    hashes = hashes[np.concatenate(([True], hashes[1:] != hashes[:-1]))] if len(hashes) else hashes
    bits = _bucket_bits(len(hashes))
    bounds = np.arange(1 << bits, dtype=np.uint64) << np.uint64(64 - bits)
    offsets = np.append(np.searchsorted(hashes, bounds), len(hashes)).astype(np.uint32)
    return DomainSet(hashes, offsets)


def _write_domains(keys: Iterable[str], folder: Path) -> int:
    """Hash, sort and index ``keys`` into ``folder``; returns the number of distinct hashes."""
    import numpy as np

    index = hash_index(keys)
    np.save(folder / "hashes.npy", index._hashes)
    np.save(folder / "offsets.npy", index._offsets)
    return len(index)


@dataclass
class UrlPrefixes:
    """A URL list: entries by host, each a path prefix (``example.com/dir`` blocks
    ``example.com/dir``, ``/dir/page`` and ``/dir?q``, not ``/directory`` nor other hosts)."""

    by_host: dict[str, list[str]] = field(default_factory=dict)

    def add(self, host: str, path: str) -> None:
        self.by_host.setdefault(host, []).append(path)

    def __len__(self) -> int:
        return sum(len(v) for v in self.by_host.values())

    def match(self, host: str, tail: str) -> str | None:
        """The entry (``host/path``) that blocks ``host`` + ``tail`` (lowercase path, query
        and fragment; ``www.`` already dropped from the host), or None."""
        paths = self.by_host.get(host)
        if not paths:
            return None
        for p in paths:
            if tail.startswith(p) and (len(tail) == len(p) or p.endswith("/") or not p
                                       or tail[len(p)] in "/?#"):
                return host + p
        return None

    @classmethod
    def from_lines(cls, lines: Iterable[str]) -> UrlPrefixes:
        out = cls()
        for line in lines:
            e = url_entry(line)
            if e is not None:
                out.add(*e)
        return out

    def dumps(self) -> str:
        """The entries as ``host<TAB>path`` lines, normalized already (``loads``)."""
        return "".join(f"{h}\t{p}\n" for h, paths in sorted(self.by_host.items()) for p in paths)

    @classmethod
    def loads(cls, text: str) -> UrlPrefixes:
        """Read ``dumps``'s lines: no parsing per entry, so a worker's setup stays short."""
        out = cls()
        for line in text.splitlines():
            host, _, path = line.partition("\t")
            out.add(host, path)
        return out


# ---------------------------------------------------------------------------------------------
# the cache


def lists_dir() -> Path:
    from gristmill.cache import cache_root

    return cache_root() / "url_lists"


@contextlib.contextmanager
def _building(key: str) -> Iterator[tuple[Path, Path | None]]:
    """(final folder, a scratch folder to fill or None when ``key`` is already compiled);
    the scratch folder is renamed to the final one when the block ends without error, so a
    killed build leaves no partial list behind."""
    from gristmill.cache import file_lock

    root = lists_dir()
    final = root / key
    with file_lock(root / ".lock"):
        if (final / "info.json").is_file():
            yield final, None
            return
        tmp = root / f".{key}.{os.getpid()}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            yield final, tmp
            shutil.rmtree(final, ignore_errors=True)  # a folder left without its info.json
            os.replace(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def ut1_category(category: str) -> tuple[DomainSet, UrlPrefixes]:
    """UT1 ``category`` from the pinned datatrove wheel (fetched and compiled on first use)."""
    from gristmill.data.fetch import PACKAGES, fetch

    if category not in UT1_CATEGORIES:
        raise ValueError(f"UT1 category {category!r} is not in the datatrove wheel; it has {list(UT1_CATEGORIES)}")
    pkg = PACKAGES["datatrove"]
    key = f"ut1-{category}-{pkg.sha256[:16]}-f{FORMAT}"
    with _building(key) as (final, tmp):
        if tmp is not None:
            _compile_ut1(fetch("datatrove"), tmp, f"{pkg.name}=={pkg.version}")
    return DomainSet.load(final), UrlPrefixes.loads((final / "urls.tsv").read_text("utf-8"))


def _compile_ut1(wheel: Path, folder: Path, source: str) -> None:
    """Stream the archive's ``domains`` and ``urls`` members from the wheel into ``folder``."""
    info = {"source": f"{source}:{UT1_ARCHIVE}", "format": FORMAT}
    with zipfile.ZipFile(wheel) as z, z.open(UT1_ARCHIVE) as raw, tarfile.open(fileobj=raw, mode="r|gz", bufsize=1 << 20) as tar:
        for member in tar:
            if member.name not in ("domains", "urls") or not member.isfile():
                continue
            f = tar.extractfile(member)
            assert f is not None
            if member.name == "domains":
                info["domains"] = _write_domains(domain_keys(_chunks(f)), folder)
            else:
                urls = UrlPrefixes.from_lines(line for text in _chunks(f) for line in text.splitlines())
                (folder / "urls.tsv").write_text(urls.dumps(), "utf-8")
                info["urls"] = len(urls)
    if "domains" not in info or "urls" not in info:
        raise ValueError(f"{wheel.name}: {UT1_ARCHIVE} lacks its domains or urls file")
    (folder / "info.json").write_text(json.dumps(info, indent=1), "utf-8")


def _chunks(f: BinaryIO, size: int = 1 << 23) -> Iterator[str]:
    """The text of a binary stream in large pieces cut at line ends (line by line reads of a
    tar stream member cost more than the rest of compiling UT1)."""
    rest = b""
    while block := f.read(size):
        block = rest + block
        cut = block.rfind(b"\n") + 1
        rest = block[cut:]
        yield block[:cut].decode("utf-8", "replace")
    if rest:
        yield rest.decode("utf-8", "replace")


# A character ``domain_entry`` would change or drop (other than lowercase ASCII names).
_NOT_NAME = re.compile(r"[^a-z0-9.\-_\n]")


def _plain(body: str) -> bool:
    """Whether every line of ``body`` is already its own lookup key: lowercase ASCII names,
    no blank line, none starting with ``.``, ``*`` or ``#`` nor ending with a dot."""
    return (bool(body) and body[0] not in ".*#" and body[-1] != "." and not _NOT_NAME.search(body)
            and not any(s in body for s in ("\n\n", "\n.", "\n*", "\n#", ".\n")))


def domain_keys(chunks: Iterable[str]) -> Iterator[str]:
    """The lookup keys of a domain list's lines (``domain_entry``), given in pieces; a piece
    whose lines are all plain names (all of UT1's) is split without a call per line."""
    for text in chunks:
        body = text.removesuffix("\n")
        if _plain(body):
            yield from body.split("\n")
        else:
            yield from (k for k in map(domain_entry, text.splitlines()) if k)


CACHE_FILE_BYTES = 1 << 20  # user domain files from this size are compiled into the cache


def domains_file(path: Path) -> DomainSet:
    """A user's domain list (one domain a line, ``#`` comments): hashed in memory when small,
    else compiled into the cache once per content (a copy of a large list loads at once)."""
    data = path.read_bytes()
    keys = domain_keys([data.decode("utf-8", "replace")])
    if len(data) < CACHE_FILE_BYTES:
        return hash_index(keys)
    key = f"file-{hashlib.sha256(data).hexdigest()[:24]}-f{FORMAT}"
    with _building(key) as (final, tmp):
        if tmp is not None:
            n = _write_domains(keys, tmp)
            (tmp / "info.json").write_text(json.dumps({"source": str(path), "domains": n, "format": FORMAT}), "utf-8")
    return DomainSet.load(final)


def urls_file(path: Path) -> UrlPrefixes:
    """A user's URL list (one ``host/path`` prefix a line, scheme optional, ``#`` comments)."""
    return UrlPrefixes.from_lines(path.read_text("utf-8", "replace").splitlines())


def word_list(key: str) -> list[str]:
    """One of DataTrove's word lists (``WORD_FILES``) from the pinned wheel: its lines, without
    blank lines and the entries DataTrove comments out with ``#``."""
    from gristmill.data.fetch import fetch

    with zipfile.ZipFile(fetch("datatrove")) as z:
        text = z.read(WORD_FILES[key]).decode("utf-8")
    return [w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#")]
