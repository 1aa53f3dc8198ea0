"""Dedup quality on the demo corpus with planted near-duplicates (exact ground truth).

    .venv/bin/python benchmarks/dedup_eval.py [--demo /tmp/demo] [--variants 3000]
        [--plot docs/dedup_scurve.png] [--json OUT]

All demo documents (fortunes, SMS, literature: natural duplicates included) plus planted
variants of real documents (insertions, deletions, line shuffles, appended boilerplate, exact
copies; see gristmill.dedup.evalset) go through the MinHash dedup transform at threshold 0.8,
and through exact + MinHash (Deduplicate). Ground truth: exact Jaccard of every pair sharing a
shingle, on the same shingles. Reported: precision/recall of duplicate pairs (verified edges;
and of raw LSH candidates, i.e. what verify: false would keep), of removed documents, recall
per mutation kind, and the detection probability (pair became an LSH candidate) per true
Jaccard bin next to the theoretical S-curve.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import tempfile
import time
from pathlib import Path

import apache_beam as beam
import numpy as np

from gristmill.config import DedupConfig, ExactDedupConfig, MinHashDedupConfig
from gristmill.dedup.evalset import (
    plant_duplicates,
    precision_recall,
    removed_by_components,
    true_pairs,
)
from gristmill.dedup.minhash import detection_probability, optimal_bands
from gristmill.pipelines.dedup import Deduplicate, MinHashDedup
from gristmill.schemas.records import Document

THRESHOLD = 0.8
BINS = np.round(np.arange(0.0, 1.0001, 0.05), 2)


def load_demo(demo: Path) -> list[Document]:
    docs = []
    for name in ("fortunes", "sms_spam", "literature"):
        with open(demo / "corpus" / f"{name}.jsonl", encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                docs.append(Document(id=r["id"], text=r["text"], source=r["source"]))
    return docs


def _collect(pcoll, path: Path, label: str) -> None:
    _ = (
        pcoll
        | f"{label}Pickle" >> beam.Map(lambda x: pickle.dumps(x).hex())
        | f"{label}Write" >> beam.io.WriteToText(str(path / label))
    )


def _read(path: Path, label: str) -> list:
    out = []
    for f in sorted(path.glob(label + "-*")):
        out.extend(pickle.loads(bytes.fromhex(line)) for line in f.read_text().splitlines())
    return out


def run_beam(docs: list[Document], tmp: Path) -> dict:
    mh_cfg = MinHashDedupConfig(threshold=THRESHOLD)
    with beam.Pipeline() as p:
        src = p | beam.Create(docs)
        mh = src | "MinHash" >> MinHashDedup(mh_cfg)
        _collect(mh["rejected"] | "MHRejIds" >> beam.Map(lambda r: r.doc.id), tmp, "mh_rejected")
        _collect(mh["edges"], tmp, "edges")
        _collect(mh["candidates"], tmp, "candidates")
        both = src | "Both" >> Deduplicate(DedupConfig(exact=ExactDedupConfig(), minhash=mh_cfg))
        _collect(
            both["rejected"] | "BothRejIds" >> beam.Map(lambda r: (r.doc.id, r.filter)), tmp, "both_rejected"
        )
    return {k: _read(tmp, k) for k in ("mh_rejected", "edges", "candidates", "both_rejected")}


def evaluate(demo: Path, n_variants: int, seed: int) -> dict:
    t0 = time.perf_counter()
    base = load_demo(demo)
    variants, planted = plant_duplicates(base, n_variants, seed=seed)
    docs = base + variants
    truth_all = true_pairs(docs, 5, min_jaccard=0.05)
    t_truth = time.perf_counter() - t0
    truth = {p for p, j in truth_all.items() if j >= THRESHOLD}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = run_beam(docs, Path(tmp))
    t_beam = time.perf_counter() - t0

    edges = {(a, b) for a, b, _ in out["edges"]}
    cands = {(a, b) for a, b, _ in out["candidates"]}
    truth_removed = removed_by_components(truth)
    res: dict = {
        "docs": len(docs),
        "demo_docs": len(base),
        "planted_variants": len(variants),
        "threshold": THRESHOLD,
        "bands_rows": list(optimal_bands(THRESHOLD, 128, 0.05, 0.95)),
        "true_pairs_ge_threshold": len(truth),
        "true_removed": len(truth_removed),
        "seconds_ground_truth": round(t_truth, 1),
        "seconds_beam_two_pipelines": round(t_beam, 1),
    }
    p, r = precision_recall(edges, truth)
    res["pairs_verified"] = {"precision": round(p, 4), "recall": round(r, 4), "predicted": len(edges)}
    p, r = precision_recall(cands, truth)
    res["pairs_lsh_candidates_unverified"] = {"precision": round(p, 4), "recall": round(r, 4), "predicted": len(cands)}
    p, r = precision_recall(set(out["mh_rejected"]), truth_removed)
    res["removed_minhash"] = {"precision": round(p, 4), "recall": round(r, 4), "predicted": len(out["mh_rejected"])}
    both = {i for i, _ in out["both_rejected"]}
    p, r = precision_recall(both, truth_removed)
    res["removed_exact_then_minhash"] = {
        "precision": round(p, 4), "recall": round(r, 4), "predicted": len(both),
        "by_filter": {f: sum(1 for _, g in out["both_rejected"] if g == f) for f in ("exact_dedup", "minhash")},
    }
    # Recall per mutation kind: planted (variant, base) pairs at or above the threshold.
    per_kind: dict[str, list[int]] = {}
    natural = [p for p in truth if not p[0].startswith("planted/") and not p[1].startswith("planted/")]
    for pl in planted:
        pair = tuple(sorted((pl.variant_id, pl.base_id)))
        if pair in truth:
            hit = per_kind.setdefault(pl.kind, [0, 0])
            hit[0] += pair in edges
            hit[1] += 1
    res["recall_by_kind"] = {k: {"recall": round(h / n, 4), "pairs": n} for k, (h, n) in sorted(per_kind.items())}
    res["natural_pairs_ge_threshold"] = len(natural)
    res["natural_pairs_recall"] = round(sum(p in edges for p in natural) / max(1, len(natural)), 4)
    # Detection probability per true-Jaccard bin (pairs sharing >= 1 shingle, J >= 0.05).
    b, r = res["bands_rows"]
    curve = []
    for lo, hi in zip(BINS[:-1], BINS[1:], strict=True):
        in_bin = [p for p, j in truth_all.items() if lo <= j < hi or (hi == 1.0 and j == 1.0)]
        if not in_bin:
            continue
        got = sum(p in cands for p in in_bin)
        mid = float((lo + hi) / 2)
        curve.append({"jaccard_bin": [float(lo), float(hi)], "pairs": len(in_bin),
                      "detected": round(got / len(in_bin), 4),
                      "theory_at_mid": round(float(detection_probability(mid, b, r)), 4)})
    res["detection_curve"] = curve
    return res


def plot(res: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = np.linspace(0, 1, 401)
    b, r = res["bands_rows"]
    b0, r0 = optimal_bands(THRESHOLD, 128)
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    ax.plot(s, detection_probability(s, b, r), label=f"default: b={b}, r={r} (fp_weight 0.05)")
    ax.plot(s, detection_probability(s, b0, r0), "--", label=f"equal weights: b={b0}, r={r0}")
    xs = [np.mean(c["jaccard_bin"]) for c in res["detection_curve"]]
    ys = [c["detected"] for c in res["detection_curve"]]
    ax.plot(xs, ys, "o", label="measured on the eval set (LSH candidates)")
    ax.axvline(THRESHOLD, color="grey", lw=0.8)
    ax.set_xlabel("true Jaccard similarity of a pair (5-word shingles)")
    ax.set_ylabel("P(pair becomes a candidate)")
    ax.set_title("MinHash LSH S-curve, num_perm=128, threshold 0.8")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp)
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--demo", type=Path, default=Path("/tmp/demo"))
    ap.add_argument("--variants", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plot", type=Path, default=None, help="write the S-curve PNG here")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args(argv)
    if not (args.demo / "corpus" / "literature.jsonl").exists():
        ap.error(f"demo corpus not found under {args.demo}; run: gristmill data demo {args.demo}")
    res = evaluate(args.demo, args.variants, args.seed)
    if args.plot:
        plot(res, args.plot)
    text = json.dumps(res, indent=1)
    if args.json:
        args.json.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
