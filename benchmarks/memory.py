"""Peak memory and wall time of ``gristmill run`` as the corpus grows (issue 18).

    .venv/bin/python benchmarks/memory.py --docs 100000 [--docs 1000000 --docs 10000000]
        [--big-gb 5] [--workers 2] [--demo /tmp/demo] [--out /tmp/gristmill-memory]
        [--datatrove .venv-bench/bin/python] [--json FILE]

For each size: the synthetic corpus (``synth_corpus.py``: ~830-byte documents, 20%
near-duplicates) as ONE JSONL file, then

- ``default``: ``gristmill run`` with the default config (filters, classifiers, exact + MinHash
  dedup, GPT-2 token shards) on ``--workers`` workers;
- ``filters``: the heuristic filters only (Gopher quality and repetition, C4, FineWeb), one
  worker: the job DataTrove is compared on;
- ``datatrove``: DataTrove's same four filters on the same file (JsonlReader -> filters ->
  JsonlWriter, one task, LocalPipelineExecutor), in the ``.venv-bench`` environment that
  ``filters_vs_datatrove.py`` describes; skipped if that interpreter is missing.
  ``--datatrove-docs N`` reads only the first N documents: DataTrove takes ~13x longer per
  document (100k took over an hour on a shared 2-core machine) and streams, so its peak is
  reached within the first thousands.

Each run is a fresh process; its peak RSS is the sum over the process and all its
descendants, sampled from /proc every 0.2 s (``gristmill.pipelines.accounting``), beside the
``peak_rss_bytes`` and ``spill_bytes`` the run itself wrote to ``summary.json``. ``--big-gb``
adds one run of the default pipeline on a single JSONL file of that many GB. The load
average before and after is printed: the machine may be shared. Results: one JSON object.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gristmill.pipelines.accounting import tree_rss  # noqa: E402
from synth_corpus import SynthCorpus, write_jsonl  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FILTERS_ONLY = {"normalize": {}, "filters": [{"name": n} for n in
                                             ("gopher_quality", "gopher_repetition", "c4", "fineweb_quality")],
                "output": {"num_shards": 2}}

DATATROVE = textwrap.dedent("""
    import sys
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter,
                                            GopherQualityFilter, GopherRepetitionFilter)
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    src, out, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
    LocalPipelineExecutor(pipeline=[
        JsonlReader(src, text_key="text", id_key="id", limit=limit),
        GopherRepetitionFilter(), GopherQualityFilter(), C4QualityFilter(), FineWebQualityFilter(),
        JsonlWriter(out + "/kept"),
    ], tasks=1, workers=1, logging_dir=out + "/logs").run()
""")


def measure(cmd: list[str], env: dict | None = None, interval: float = 0.2) -> dict:
    """Run ``cmd``; its wall time and the sampled peak RSS of its process tree."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = procs = 0
    while proc.poll() is None:
        total, n = tree_rss(proc.pid)
        if total > peak:
            peak, procs = total, n
        time.sleep(interval)
    err = proc.stderr.read().decode(errors="replace")
    if proc.returncode:
        raise RuntimeError(f"{cmd[:4]} failed ({proc.returncode}): {err[-2000:]}")
    return {"wall_s": round(time.perf_counter() - t0, 1), "peak_rss_gb": round(peak / 1e9, 3),
            "processes_at_peak": procs}


def _digest(run: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(run.glob("*/*.parquet")):
        h.update(f"{f.relative_to(run)}".encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def run_gristmill(corpus: Path, out: Path, workers: int, config: str | Path) -> dict:
    cmd = [sys.executable, "-m", "gristmill.cli", "run", "--input", str(corpus), "--output", str(out),
           "--workers", str(workers), "--config", str(config), "--overwrite", "-q"]
    res = measure(cmd, env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    s = json.loads((out / "summary.json").read_text())
    res.update(summary_peak_rss_gb=round(s["peak_rss_bytes"] / 1e9, 3),
               spill_gb=round(s["spill_bytes"] / 1e9, 3), balanced=s["balanced"],
               input_records=s["input_records"], kept=s["kept"],
               by_filter={f: sum(r.values()) for f, r in s["by_filter"].items()},
               tokens=(s.get("tokens") or {}).get("tokens"), outputs_sha256_16=_digest(out))
    return res


def run_datatrove(python: str, corpus: Path, out: Path, limit: int) -> dict:
    res = measure([python, "-c", DATATROVE, str(corpus), str(out), str(limit)])
    kept = 0
    for f in (out / "kept").glob("*"):
        with gzip.open(f, "rb") if f.suffix == ".gz" else open(f, "rb") as fh:
            kept += sum(1 for _ in fh)
    return {**res, "kept": kept, "documents": limit if limit > 0 else "all"}


def big_corpus(demo: Path, gb: float, path: Path) -> Path:
    """One JSONL file of about ``gb`` GB of the synthetic documents."""
    if path.exists():
        return path
    gen, tmp, i = SynthCorpus(demo), path.with_name(path.name + ".tmp"), 0
    with open(tmp, "w", encoding="utf-8") as f:
        while f.tell() < gb * 1e9:
            f.write(json.dumps(gen.record(i), ensure_ascii=False) + "\n")
            i += 1
    tmp.replace(path)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, action="append", help="corpus size (repeatable); default 100000")
    ap.add_argument("--big-gb", type=float, default=0.0, help="also one JSONL file of this many GB")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--demo", type=Path, default=Path("/tmp/demo"))
    ap.add_argument("--out", type=Path, default=Path("/tmp/gristmill-memory"))
    ap.add_argument("--datatrove", default=str(REPO / ".venv-bench" / "bin" / "python"))
    ap.add_argument("--datatrove-docs", type=int, default=-1,
                    help="DataTrove reads only the first N documents (it is ~13x slower per document "
                         "and streams, so its peak is reached early); default all")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    report: dict = {"bench": "memory", "workers": args.workers, "load_before": os.getloadavg(), "runs": []}
    corpora = [(f"{n:,} docs", write_jsonl(args.demo, n, args.out / f"synth-{n}.jsonl")
                if not (args.out / f"synth-{n}.jsonl").exists() else args.out / f"synth-{n}.jsonl")
               for n in args.docs or [100_000]]
    if args.big_gb:
        corpora.append((f"one {args.big_gb:g} GB file", big_corpus(args.demo, args.big_gb, args.out / "big.jsonl")))
    filters_cfg = args.out / "filters-only.json"
    filters_cfg.write_text(json.dumps(FILTERS_ONLY))
    for label, corpus in corpora:
        entry = {"corpus": label, "bytes": corpus.stat().st_size}
        entry["default"] = run_gristmill(corpus, args.out / "run-default", args.workers, "default")
        entry["filters"] = run_gristmill(corpus, args.out / "run-filters", 1, filters_cfg)
        if Path(args.datatrove).exists():
            entry["datatrove"] = run_datatrove(args.datatrove, corpus, args.out / f"dt-{time.time_ns()}",
                                               args.datatrove_docs)
        report["runs"].append(entry)
        print(json.dumps(entry), file=sys.stderr)
    report["load_after"] = os.getloadavg()
    text = json.dumps(report, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
