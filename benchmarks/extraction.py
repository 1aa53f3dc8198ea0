"""Main-text extraction: quality (token precision / recall / F1 against the gold main text) and
speed (pages/s and MB of HTML/s, one process pinned to one core) of each extractor.

Page sets (``gristmill.data.web_pages``):
- ``real``: the Sphinx pages of the pinned Mako and alembic sdists, gold = the text of their
  main-content element;
- ``assembled``: known real text (the demo's Shakespeare and Milton) in those pages' real
  header, navigation, sidebar and footer, gold = the known text;
- ``debian`` (with ``--debian``): every k-th page of Debian's ``python3.11-doc`` (fetched with
  ``apt-get download``; benchmark only, Debian pool files are not immutable), gold = its
  ``role="main"`` element.

Rows: ``trafilatura`` and ``resiliparse`` as gristmill configures them by default, trafilatura
with DataTrove's settings (``precision`` and ``deduplicate`` on, comments off), and ``visible``
(all visible text, the converter without an ``extract`` section) as the floor. Scores are
means over pages (macro); ``empty`` counts pages an extractor returned nothing for. The load
average is printed beside the numbers. Takes about a minute.

    .venv/bin/python benchmarks/extraction.py [--debian] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from gristmill.data.web_pages import WebPage, assembled_pages, main_text, pages
from gristmill.extract import make_extractor
from gristmill.extract.quality import token_scores

EXTRACTORS = [
    ("trafilatura", "trafilatura", {}),
    ("trafilatura (DataTrove settings)", "trafilatura", {"precision": True, "deduplicate": True,
                                                         "fast": False}),
    ("trafilatura (with fallbacks: fast false)", "trafilatura", {"fast": False}),
    ("resiliparse", "resiliparse", {}),
    ("visible (no extract section)", "visible", {}),
]


def debian_pages(package: str = "python3.11-doc", every: int = 12) -> list[WebPage]:
    """Every ``every``-th HTML page (sorted by path) of the Debian package that has a main element."""
    tmp = Path(tempfile.mkdtemp(prefix="gristmill-deb-"))
    subprocess.run(["apt-get", "download", package], cwd=tmp, check=True, capture_output=True)
    (deb,) = tmp.glob("*.deb")
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp / "root")], check=True)
    files = sorted((tmp / "root").rglob("*.html"))[::every]
    out = []
    for f in files:
        raw = f.read_bytes()
        gold = main_text(raw.decode("utf-8", "replace"))
        if gold and len(gold) > 200:  # index-like pages with no prose are left out
            out.append(WebPage("https://docs.python.org/3.11/" + str(f).split("/html/", 1)[-1], raw, gold))
    return out


def measure(extractor, docs: list[WebPage]) -> dict:
    """Quality and speed of one extractor on one page set (markup decoded beforehand, so the
    time is the extractor's alone)."""
    markups = [p.html_bytes.decode("utf-8", "replace") for p in docs]
    texts = []
    t0 = time.process_time()
    for m, p in zip(markups, docs, strict=True):
        texts.append(extractor.extract(m, p.url))
    cpu = time.process_time() - t0
    scores = [token_scores(t, p.main_text) for t, p in zip(texts, docs, strict=True)]
    mb = sum(len(p.html_bytes) for p in docs) / 1e6
    return {
        "precision": statistics.mean(s.precision for s in scores),
        "recall": statistics.mean(s.recall for s in scores),
        "f1": statistics.mean(s.f1 for s in scores),
        "empty": sum(not t.strip() for t in texts),
        "pages_s": len(docs) / cpu,
        "mb_s": mb / cpu,
    }


def table(results: dict, sets: dict[str, list[WebPage]]) -> str:
    lines = ["| page set | extractor | precision | recall | F1 | empty | pages/s | MB/s |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for set_name, docs in sets.items():
        for label, *_ in EXTRACTORS:
            r = results[set_name, label]
            lines.append(f"| {set_name} ({len(docs)}) | {label} | {r['precision']:.3f} | {r['recall']:.3f} | "
                         f"{r['f1']:.3f} | {r['empty']} | {r['pages_s']:.1f} | {r['mb_s']:.2f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--debian", action="store_true", help="also score pages of Debian's python3.11-doc")
    ap.add_argument("--assembled", type=int, default=40, help="number of assembled pages")
    ap.add_argument("--out", help="also write the table (markdown) to this file")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    sets = {"real": list(pages()), "assembled": list(assembled_pages(args.assembled))}
    if args.debian:
        sets["debian python3.11-doc"] = debian_pages()
    results = {}
    for label, name, options in EXTRACTORS:
        for set_name, docs in sets.items():
            extractor = make_extractor(name, **options)  # fresh per set: deduplicate's cache
            results[set_name, label] = measure(extractor, docs)
    load = os.getloadavg()
    head = (f"Extraction quality and speed, one process on one core ({platform.processor() or platform.machine()}, "
            f"Python {platform.python_version()}); load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}. "
            f"Versions: " + ", ".join(f"{n} {make_extractor(n).version}" for n in ("trafilatura", "resiliparse")))
    out = head + "\n\n" + table(results, sets) + "\n"
    print(out)
    if args.out:
        Path(args.out).write_text(out)


if __name__ == "__main__":
    main()
