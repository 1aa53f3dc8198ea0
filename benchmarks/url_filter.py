"""The url filter's setup time, memory and URLs per second (one core), optionally against
DataTrove's URLFilter with its integrated lists on the same URLs.

    python benchmarks/url_filter.py [--n 50000]                       # gristmill (.venv)
    .venv-bench/bin/python benchmarks/url_filter.py --datatrove URLS  # DataTrove, same URLs

The first writes its URLs to ``URLS`` (``--save``, default /tmp/gristmill-url-bench.txt) for
the second. URLs: 95% made-up clean ones (distinct hosts, so the per-host cache never helps,
under common public suffixes) and 5% hosts of UT1 adult (every 997th domain of the list, with
``www.`` or a subdomain), shuffled with a fixed seed. Takes a few seconds once the lists are
compiled in the cache (the first setup compiles them: timed too).

Measured on a 2-core machine shared with other jobs (load ~5, so absolute rates are low and
vary by ~1.5x between runs), 50,000 URLs:
- gristmill, UT1 adult (defaults): first setup (compile) 12-17 s, 180 MB peak; later setups
  0.25-0.75 s, ~50 MB (mostly the mapped 44 MB index, shared between processes); 12-18k URLs/s.
- with builtin_words: 17-19k URLs/s.
- DataTrove URLFilter (integrated lists): setup 12.6-13.3 s every time, +750 MB per process;
  4.4-5.2k URLs/s. It blocks 584 of the 50,000, gristmill 2,547: every DataTrove rejection
  is one of gristmill's; the rest are listed subdomains (``x.blogspot.hu``) reached through a
  further subdomain (``www.x.blogspot.hu``), which DataTrove's host + registered domain check
  misses (on the first 5,000 URLs: 198 such, 0 the other way).
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from pathlib import Path

SUFFIXES = ["com", "org", "net", "de", "co.uk", "fr", "ru", "nl", "blogspot.com", "com.au", "io", "info"]
WORDS = ["news", "blog", "shop", "garden", "city", "travel", "music", "river", "data", "school", "health",
         "photo", "kitchen", "games", "science", "market", "forum", "wiki", "docs", "local"]


def make_urls(n: int) -> list[str]:
    import tarfile
    import zipfile

    from gristmill.data.fetch import fetch
    from gristmill.filters.url_lists import UT1_ARCHIVE, _chunks, domain_keys

    listed: list[str] = []
    with zipfile.ZipFile(fetch("datatrove")) as z, z.open(UT1_ARCHIVE) as raw, \
            tarfile.open(fileobj=raw, mode="r|gz") as tar:
        for m in tar:
            if m.name == "domains":
                listed = [d for i, d in enumerate(domain_keys(_chunks(tar.extractfile(m)))) if i % 997 == 0]
    rng = random.Random(0)
    urls = []
    for i in range(n):
        if rng.random() < 0.05:
            host = rng.choice(["www.", "m.", "video."]) + rng.choice(listed)
        else:
            host = f"{rng.choice(['www.', '', 'en.'])}{rng.choice(WORDS)}-{rng.choice(WORDS)}{i}.{rng.choice(SUFFIXES)}"
        path = "/".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4)))
        urls.append(f"https://{host}/{path}-{i}.html" + (f"?id={i}" if i % 3 == 0 else ""))
    return urls


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_gristmill(urls: list[str]) -> None:
    from gristmill.filters import create

    for params in ({}, {"builtin_words": True}):
        before = rss_mb()
        t = time.perf_counter()
        f = create("url", **params)
        f.setup()
        setup = time.perf_counter() - t
        t = time.perf_counter()
        blocked = sum(f.check(u)[0] is not None for u in urls)
        dt = time.perf_counter() - t
        print(f"gristmill url {params or '(defaults)'}: setup {setup:.2f} s, peak RSS +{rss_mb() - before:.0f} MB, "
              f"{len(urls) / dt:,.0f} URLs/s, {blocked} of {len(urls)} blocked")


def bench_datatrove(urls: list[str]) -> None:
    from datatrove.data import Document
    from datatrove.pipeline.filters import URLFilter

    before = rss_mb()
    t = time.perf_counter()
    f = URLFilter()
    f.download_data()
    setup = time.perf_counter() - t
    docs = [Document(text="", id=str(i), metadata={"url": u}) for i, u in enumerate(urls)]
    t = time.perf_counter()
    blocked = sum(f.filter(d) is not True for d in docs)
    dt = time.perf_counter() - t
    print(f"datatrove URLFilter (integrated lists): setup {setup:.2f} s, peak RSS +{rss_mb() - before:.0f} MB, "
          f"{len(urls) / dt:,.0f} URLs/s, {blocked} of {len(urls)} blocked")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=50_000)
    p.add_argument("--save", default="/tmp/gristmill-url-bench.txt")
    p.add_argument("--datatrove", metavar="URLS", help="run DataTrove's URLFilter on these URLs instead")
    args = p.parse_args()
    if args.datatrove:
        bench_datatrove(Path(args.datatrove).read_text().splitlines())
        return 0
    urls = make_urls(args.n)
    Path(args.save).write_text("\n".join(urls) + "\n")
    bench_gristmill(urls)
    return 0


if __name__ == "__main__":
    sys.exit(main())
