"""Precision and recall of the ``pii`` filter per kind, on real text with planted PII.

    .venv/bin/python benchmarks/pii_eval.py [--docs 1200] [--seed 16] [--json OUT]

The labelled set is ``gristmill.filters.pii_eval``: real demo-corpus texts (fortunes, SMS,
literature; pinned packages, cached) with planted e-mail addresses, IP addresses, phone
numbers and card numbers, and planted lookalikes that must survive (versions, dates, ISBNs,
coordinates, order numbers, arithmetic, invalid-Luhn numbers, timestamps, ids, and the
documentation examples and private addresses kept by default). Span-level: a redaction
counts when its start, end and kind equal a label's. Also printed: what the filter redacts
in the whole real SMS collection (unlabelled; spam carries real premium-rate numbers), with
samples to read. Runs in seconds.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter

from gristmill.filters import create
from gristmill.filters.pii_eval import LOOKALIKES, build, demo_texts, score
from gristmill.filters.pii_patterns import KINDS


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=1200)
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--json", help="write the figures here too")
    args = ap.parse_args(argv)

    pii = create("pii")
    docs = build(demo_texts(args.docs), n_docs=args.docs, seed=args.seed)
    t0 = time.perf_counter()
    s = score(docs, pii.find)
    dt = time.perf_counter() - t0
    chars = sum(len(d.text) for d in docs)
    print(f"{len(docs)} labelled texts, {chars / 1e3:.0f}k chars; find() {len(docs) / dt:,.0f} docs/s, "
          f"{chars / dt / 1e6:.1f} MB/s")
    print(f"{'kind':8} {'planted':>8} {'found':>6} {'TP':>5} {'FP':>4} {'FN':>4} {'precision':>10} {'recall':>7}")
    out: dict = {"docs": len(docs), "kinds": {}, "lookalikes": {}}
    for k in KINDS:
        planted, found = s.tp[k] + s.fn[k], s.tp[k] + s.fp[k]
        print(f"{k:8} {planted:8d} {found:6d} {s.tp[k]:5d} {s.fp[k]:4d} {s.fn[k]:4d} "
              f"{s.precision(k):10.3f} {s.recall(k):7.3f}")
        out["kinds"][k] = {"planted": planted, "tp": s.tp[k], "fp": s.fp[k], "fn": s.fn[k],
                           "precision": s.precision(k), "recall": s.recall(k)}
    print("lookalikes kept (must all survive):")
    for t in LOOKALIKES:
        ok, n = s.kept[t]
        print(f"  {t:14} {ok:4d}/{n:<4d}")
        out["lookalikes"][t] = [ok, n]

    from gristmill.data.demo import SOURCE_ROWS

    sms = [row["text"] for row in SOURCE_ROWS["sms_spam"]()]
    hits: Counter = Counter()
    samples: list[str] = []
    for t in sms:
        for f in pii.find(t):
            hits[f.kind] += 1
            if len(samples) < 12 and hits[f.kind] <= 4:
                samples.append(f"{f.kind:6} {t[max(0, f.start - 25):f.end + 10]!r}")
    print(f"real SMS collection ({len(sms)} messages, unlabelled): redactions {dict(hits)}")
    for line in samples:
        print("  " + line)
    out["sms_redactions"] = dict(hits)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
