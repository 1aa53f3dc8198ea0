"""The ``url`` filter on the real UT1 lists of the pinned datatrove wheel, and on user lists.

The wheel is fetched into gristmill's cache and its lists compiled there on first use (as the
demo data is); every other test reuses them.
"""

from __future__ import annotations

import json
import pickle
import time

import pytest
from url_util import ut1_lines

from gristmill.data.fetch import PACKAGES
from gristmill.filters import create
from gristmill.filters.url import candidates, split_url
from gristmill.filters.url_lists import lists_dir, ut1_category, word_list
from gristmill.schemas import Document


@pytest.fixture(scope="module")
def adult():
    f = create("url")
    f.setup()
    return f


def verdict(f, url):
    return f(Document("d", "some text", url=url))


def test_ut1_adult_compiled_from_the_pinned_wheel(adult):
    """Every UT1 adult domain is in the compiled list; the first real entries block their
    hosts, their www. and deeper subdomains; a well-known clean site is not listed."""
    domains, urls = ut1_category("adult")
    info = json.loads(next(lists_dir().glob(f"ut1-adult-{PACKAGES['datatrove'].sha256[:16]}-*/info.json")).read_text())
    assert info["domains"] == len(domains) == 4_558_940 and info["urls"] == len(urls) == 19_587
    for d in ut1_lines("domains", 50):
        assert d in domains
        for host in (d, f"www.{d}", f"a.b.{d}"):
            v = verdict(adult, f"https://{host}/index.html")
            assert (v.keep, v.reason, v.value, v.threshold) == (False, "url.adult", 1.0, 1.0), host
            assert v.info == {"url.match": d} and v.scores == {"url.blocked": 1.0}
    for u in ("https://en.wikipedia.org/wiki/Sussex", "https://docs.python.org/3/library/re.html"):
        assert verdict(adult, u).keep and verdict(adult, u).scores == {"url.blocked": 0.0}


def test_ut1_url_entries_are_path_prefixes(adult):
    entry = next(u for u in ut1_lines("urls", 200) if u.count("/") == 1 and not u.endswith("/"))
    host, path = entry.split("/", 1)
    assert verdict(adult, f"http://{host}/").keep  # the host alone is not on the domain list
    for url in (f"http://{entry}", f"https://www.{entry}/page.html", f"{entry}?q=1", f"HTTP://{host.upper()}/{path}"):
        v = verdict(adult, url)
        assert v.reason == "url.adult" and v.info["url.match"] == entry, url
    assert verdict(adult, f"http://{entry}more").keep  # not at a path boundary
    assert verdict(adult, f"http://other-{host}/{path}").keep  # another host


def test_parents_match_and_substrings_do_not(tmp_path):
    lst = tmp_path / "evil.txt"
    lst.write_text("# test list\nevil-example.com\n\nB.Other-Example.org.\n*.star-example.net\n")
    f = create("url", lists=[], domains_files=[str(lst)])
    assert f.reasons == ("evil",)
    for url in ("http://evil-example.com", "https://a.b.evil-example.com/x", "evil-example.com",
                "http://www.evil-example.com:8080/?q", "http://a.b.other-example.org/", "http://x.star-example.net"):
        assert verdict(f, url).reason == "url.evil", url
    for url in ("http://notevil-example.com/", "http://evil-example.com.attacker.org/", "http://other-example.org/",
                "http://evil-example.community/", "http://example.com/evil-example.com"):
        assert verdict(f, url).keep, url


def test_registered_domain_stops_at_public_suffixes(tmp_path):
    """A listed public suffix blocks only that exact host, never the sites under it (UT1 adult
    lists `dynu.net`, a dynamic-DNS provider's suffix); a listed site under one still blocks."""
    lst = tmp_path / "suffixes.txt"
    lst.write_text("co.uk\nblogspot.com\nbad.example.co.uk\nbad.blogspot.com\n")
    f = create("url", lists=[], domains_files=[str(lst)])
    assert candidates("a.b.example.co.uk") == ("a.b.example.co.uk", "b.example.co.uk", "example.co.uk")
    assert candidates("x.y.blogspot.com") == ("x.y.blogspot.com", "y.blogspot.com")
    assert verdict(f, "http://www.example.co.uk/").keep and verdict(f, "http://foo.blogspot.com/").keep
    assert verdict(f, "http://deep.bad.example.co.uk/").info == {"url.match": "bad.example.co.uk"}
    assert verdict(f, "http://x.bad.blogspot.com/").info == {"url.match": "bad.blogspot.com"}
    assert verdict(f, "http://blogspot.com/").reason == "url.suffixes"
    adult = create("url")
    assert "dynu.net" in ut1_category("adult")[0] and verdict(adult, "http://gristmill-test-site.dynu.net/").keep


def test_user_url_file_and_words(tmp_path):
    urls = tmp_path / "bad-pages.txt"
    urls.write_text("http://www.example.org/private/\nexample.net/a\n")
    f = create("url", lists=[], urls_files=[str(urls)], banned_words=["casino", "free cams"],
               banned_subwords=["2 girls 1 cup"])
    assert f.reasons == ("bad_pages", "banned_word", "banned_subword")
    cases = {
        "https://example.org/private/x": ("url.bad_pages", "example.org/private/"),
        "http://www3.example.org/private/": ("url.bad_pages", "example.org/private/"),
        "http://example.net/a?x=1": ("url.bad_pages", "example.net/a"),
        "http://example.net/ab": None,
        "http://sub.example.org/private/": None,
        "http://shop.example.com/Casino-Games/": ("url.banned_word", "casino"),
        "http://example.com/casinos": None,
        "http://example.com/free_cams/today": ("url.banned_word", "free cams"),
        "http://example.com/cams-free": None,
        "http://example.com/watch-2girls-1-cup.html": ("url.banned_subword", "2girls1cup"),
    }
    for url, want in cases.items():
        v = verdict(f, url)
        assert (None if v.keep else (v.reason, v.info["url.match"])) == want, url


def test_builtin_words_are_datatroves(tmp_path):
    """builtin_words adds DataTrove's lists from the wheel: banned words, subwords, and two
    soft-banned words in one URL."""
    words, soft = word_list("banned_words"), word_list("soft_banned_words")
    assert len(words) > 150 and not any(w.startswith("#") for w in words)
    f = create("url", lists=[], builtin_words=True)
    assert f.reasons == ("banned_word", "banned_subword", "soft_banned_words")
    w = next(w for w in words if w.isalnum())
    assert verdict(f, f"http://example.com/{w}/1").info == {"url.match": w}
    v = verdict(f, f"http://example.com/{soft[0]}-{soft[1]}")
    assert v.reason == "url.soft_banned_words" and v.info["url.match"] == " ".join(sorted(soft[:2]))
    assert verdict(f, f"http://example.com/{soft[0]}").keep
    assert verdict(f, "https://docs.python.org/3/library/re.html").keep


def test_exclusions_allow_a_domain_and_its_subdomains(adult):
    d = ut1_lines("domains", 1)[0]
    f = create("url", exclusions=[d], banned_words=["index"])
    for url in (f"http://{d}/index", f"http://www.{d}/"):
        v = verdict(f, url)
        assert v.keep and v.info == {"url.status": "excluded"} and v.scores == {"url.blocked": 0.0}
    assert not verdict(adult, f"http://{d}/").keep


def test_missing_and_malformed_urls_never_raise(tmp_path):
    lst = tmp_path / "idn.txt"
    lst.write_text("bücher.example\nxn--mller-kva.example\n")
    f = create("url", domains_files=[str(lst)], banned_words=["sex"])
    for url in (None, "", "   "):
        v = verdict(f, url)
        assert v.keep and v.info == {"url.status": "missing"} and v.scores == {}
    # a unicode IDN matches its punycode entry and the other way round
    assert verdict(f, "http://www.BÜCHER.example/x").info == {"url.match": "xn--bcher-kva.example"}
    assert verdict(f, "https://müller.example").reason == "url.idn"
    assert split_url("http://[::1]:80/A?B") == ("::1", "/a?b")
    weird = ["http://[::1", "http://[::1]/", "://", "http://", "http:///x", "\x00", "http://a..b/", "http://%zz/",
             "http://" + "é" * 100 + ".com/", "http://\ud800.com/", "http://ex ample.com/", "http://[/sex", "例え.テスト",
             "http://xn--/", "ftp://user@:21", "http://a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z/",
             "javascript:alert(1)", "http://1.2.3.4:99999/", "http://" + "a." * 200 + "com"]
    for url in weird:
        v = verdict(f, url)  # never an exception
        assert v.scores == {"url.blocked": 0.0 if v.keep else 1.0}, url
    assert verdict(f, "http://[/sex").info == {"url.match": "sex"}  # no host: words still checked
    t = time.perf_counter()
    huge = verdict(f, "http://" + "a." * 1_000_000 + "com/sex")  # a 2 MB host: linear time
    assert huge.info == {"url.match": "sex"} and time.perf_counter() - t < 2
    assert verdict(f, "http://[::1").info == {"url.status": "no_host"}


def test_parameters_and_reasons_are_checked(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "mine.txt").write_text("x.com\n")
    (tmp_path / "mine.txt").write_text("y.com\n")
    (tmp_path / "adult.txt").write_text("z.com\n")
    with pytest.raises(ValueError, match="unknown list 'gambling'.*'adult'"):
        create("url", lists=["gambling"])
    with pytest.raises(ValueError, match="not found"):
        create("url", domains_files=[str(tmp_path / "nope.txt")])
    with pytest.raises(ValueError, match="url.mine, which another list has"):
        create("url", domains_files=[str(tmp_path / "mine.txt"), str(tmp_path / "a" / "mine.txt")])
    with pytest.raises(ValueError, match="url.adult"):
        create("url", domains_files=[str(tmp_path / "adult.txt")])
    with pytest.raises(ValueError, match="nothing to match"):
        create("url", lists=[])
    # one list name may have a domain file and a URL file: one reason
    f = create("url", domains_files=[str(tmp_path / "mine.txt")], urls_files=[str(tmp_path / "a" / "mine.txt")])
    assert f.reasons == ("adult", "mine") and f.all_reason_codes() == ["url.adult", "url.mine"]
    assert "reasons" not in f.params() and f.params()["lists"] == ["adult"]
    with pytest.raises(ValueError, match="has no reason"):
        f.reject("banned_word")


def test_pickles_small_and_works_after(adult):
    """Beam ships the filter to workers: the mapped lists stay behind and load again."""
    blob = pickle.dumps(adult)
    assert len(blob) < 2000
    again = pickle.loads(blob)
    d = ut1_lines("domains", 1)[0]
    assert verdict(again, f"http://{d}/").reason == "url.adult"


def test_large_user_list_is_compiled_into_the_cache_once(tmp_path, monkeypatch):
    """A domain file from 1 MB is hashed into the cache, keyed by its content: the copy of
    the same list elsewhere loads what the first compiled."""
    from gristmill.filters.url_lists import CACHE_FILE_BYTES, domains_file

    real = ut1_lines("domains", 60_000)
    big = tmp_path / "big.txt"
    big.write_text("# UT1 adult, first lines\n" + "\n".join(real) + "\n")
    assert big.stat().st_size >= CACHE_FILE_BYTES
    monkeypatch.setenv("GRISTMILL_CACHE", str(tmp_path / "cache"))
    index = domains_file(big)
    (compiled,) = (tmp_path / "cache" / "url_lists").glob("file-*")
    assert json.loads((compiled / "info.json").read_text())["domains"] == len(index) == len(set(real))
    assert all(d in index for d in real[::97]) and "example.com" not in index
    stamp = (compiled / "hashes.npy").stat().st_mtime_ns
    copy = tmp_path / "copy.txt"
    copy.write_bytes(big.read_bytes())
    f = create("url", lists=[], domains_files=[str(copy)])
    assert verdict(f, f"http://www.{real[-1]}/").reason == "url.copy"
    assert (compiled / "hashes.npy").stat().st_mtime_ns == stamp
    assert len(list((tmp_path / "cache" / "url_lists").iterdir())) == 2  # the list and its lock
