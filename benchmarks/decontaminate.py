"""Cost of the ``decontaminate`` filter: index build time and memory, documents per second.

    .venv/bin/python benchmarks/decontaminate.py [--eval-texts 10000] [--ngram 13]

The evaluation set is real text of realistic size: the first ``--eval-texts`` messages of
the SMS collection and fortunes of the demo corpus (10-100 words each, like benchmark
questions and answers), written as JSONL. The documents are the demo literature (about 4,000
characters each) and the remaining fortunes; a fortune that is also in the eval set (the
fortune files repeat some) is found, so the hit path is timed too. One core, plain Python.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

from gristmill.data.demo import SOURCE_ROWS
from gristmill.filters import create
from gristmill.filters.decontaminate_index import INDEXES
from gristmill.schemas import Document


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eval-texts", type=int, default=10_000)
    ap.add_argument("--ngram", type=int, default=13)
    args = ap.parse_args(argv)

    sms = [r["text"] for r in SOURCE_ROWS["sms_spam"]()]
    fortunes = [r["text"] for r in SOURCE_ROWS["fortunes"]()]
    literature = [r["text"] for r in SOURCE_ROWS["literature"]()]
    pool = sms + fortunes
    evals, rest = pool[: args.eval_texts], fortunes[max(0, args.eval_texts - len(sms)):]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "evalset.jsonl"
        with open(path, "w", encoding="utf-8") as f:
            for t in evals:
                f.write(json.dumps({"text": t}) + "\n")
        f = create("decontaminate", eval_files=[str(path)], ngram=args.ngram)
        t0 = time.perf_counter()
        f.setup()
        build_plain = time.perf_counter() - t0
        INDEXES.clear()
        f = create("decontaminate", eval_files=[str(path)], ngram=args.ngram)
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        tracemalloc.start()
        t0 = time.perf_counter()
        f.setup()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        stats = f.index_stats()
        print(f"eval set: {stats['texts']:,} texts ({path.stat().st_size / 1e6:.1f} MB JSONL), "
              f"{stats['ngrams']:,} distinct n-grams, {stats['short_texts_matched_whole']:,} matched whole, "
              f"{stats['texts_too_short']:,} too short")
        print(f"index build: {build_plain:.2f} s; index {stats['bytes'] / 1e6:.1f} MB; peak while building "
              f"{peak / 1e6:.1f} MB (tracemalloc); max RSS grew {(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1e3:.0f} MB")
        for name, texts in (("literature", literature), ("fortunes", rest)):
            docs = [Document(str(i), t) for i, t in enumerate(texts)]
            t0 = time.perf_counter()
            hit = sum(not f(d).keep for d in docs)
            dt = time.perf_counter() - t0
            chars = sum(len(t) for t in texts)
            print(f"{name}: {len(docs):,} docs, {len(docs) / dt:,.0f} docs/s, {chars / dt / 1e6:.1f} MB/s, "
                  f"{hit} contaminated")
        INDEXES.clear()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
