"""How long and how much memory a report takes on a 1M-document run.

The run is synthetic but made of real rows: a real pipeline run over a sample of the demo
corpus (every heuristic filter registered, exact + MinHash dedup), whose kept and rejected
rows are replicated with fresh ids (``<id>#<k>``, ``duplicate_of`` renamed alike) until the
run holds ``--docs`` documents, written as 8 Parquet files per kind (zstd, 64k-row groups).

Measured, each in its own fresh process (peak RSS: VmHWM), side by side:
  stats      gristmill's streaming pass (``compute_stats``: column projection, record batches)
  terminal   stats + the rich terminal report
  html       stats + the HTML report (plots, what-if curves, samples)
  compare    ``report --compare`` of the run with itself (ids and reasons only)
  naive      what a quick script does: ``pq.read_table`` of kept/ and rejected/, all columns
At 1/10 of the size too, to show how time and memory grow.

    .venv/bin/python benchmarks/report.py [--docs 1000000] [--write benchmarks/RESULTS.md]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

FILES = 8
ROW_GROUP = 65_536

STEPS = {
    "stats": "from gristmill.report.stats import compute_stats; st = compute_stats(run)",
    "terminal": (
        "import io; from rich.console import Console\n"
        "from gristmill.report.stats import compute_stats\n"
        "from gristmill.report.terminal import print_report\n"
        "print_report(compute_stats(run), Console(file=io.StringIO(), width=80))"
    ),
    "html": (
        "from gristmill.report.stats import compute_stats\n"
        "from gristmill.report.html import write_html\n"
        "write_html(compute_stats(run), OUT)"
    ),
    "compare": (
        "from gristmill.report.compare import compare_runs\n"
        "c = compare_runs(run, run); assert c.changed == 0"
    ),
    "naive": (
        "import pyarrow.parquet as pq\n"
        "t = [pq.read_table(run.path / k) for k in ('kept', 'rejected')]"
    ),
}

CHILD = """
import json, sys, time
t0 = time.perf_counter()
from gristmill.report.run import RunDir
run = RunDir.open(sys.argv[1]); OUT = sys.argv[2]
{code}
s = time.perf_counter() - t0
# VmHWM: this process's peak RSS (ru_maxrss would carry the parent's peak over the fork)
hwm = next(ln for ln in open("/proc/self/status") if ln.startswith("VmHWM"))
print(json.dumps({{"s": s, "rss_mb": int(hwm.split()[1]) / 1024}}))
"""


def base_run(work: Path, mix: tuple[int, int, int]) -> Path:
    """A real pipeline run over a demo sample: ``mix`` fortunes, SMS, literature documents."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "report"))
    from report_runs import BENCH_FILTERS, make_run

    from gristmill.data.demo import build_demo

    demo = work / "demo"
    if not (demo / "corpus").exists():
        build_demo(demo)
    return make_run(demo, work / "base", filters=BENCH_FILTERS, mix=mix)


def replicate(base: Path, dest: Path, docs: int) -> dict:
    """Write a run of ``docs`` documents made of ``base``'s rows under fresh ids."""
    kept = pq.read_table(base / "kept")
    rej = pq.read_table(base / "rejected")
    per = kept.num_rows + rej.num_rows
    copies = -(-docs // per)
    for kind in ("kept", "rejected", "errors"):
        (dest / kind).mkdir(parents=True, exist_ok=True)
    pq.write_table(pq.read_table(base / "errors"), dest / "errors" / "part-00000.parquet")
    for kind, table in (("kept", kept), ("rejected", rej)):
        schema = pq.read_schema(next((base / kind).glob("*.parquet")))
        table = table.select(schema.names).cast(schema)
        writers = [pq.ParquetWriter(dest / kind / f"part-{i:05d}-of-{FILES:05d}.parquet", schema,
                                    compression="zstd") for i in range(FILES)]
        for k in range(copies):
            suffix = f"#{k}"
            t = table.set_column(0, schema.field("id"),
                                 pc.binary_join_element_wise(table["id"], suffix, ""))
            if "duplicate_of" in t.column_names:
                i = t.column_names.index("duplicate_of")
                t = t.set_column(i, schema.field("duplicate_of"),
                                 pc.binary_join_element_wise(t["duplicate_of"], suffix, ""))
            writers[k % FILES].write_table(t, row_group_size=ROW_GROUP)
        for w in writers:
            w.close()
    summary = json.loads((base / "summary.json").read_text())
    n_err = pq.read_metadata(dest / "errors" / "part-00000.parquet").num_rows
    summary.update(kept=kept.num_rows * copies, rejected=rej.num_rows * copies, errors=n_err,
                   input_records=per * copies + n_err)
    (dest / "summary.json").write_text(json.dumps(summary))
    return {"documents": per * copies, "copies": copies, "base_docs": per,
            "parquet_mb": sum(f.stat().st_size for f in dest.rglob("*.parquet")) / 2**20,
            "text_mb": (pc.sum(pc.binary_length(kept["text"])).as_py()
                        + pc.sum(pc.binary_length(rej["text"])).as_py()) * copies / 2**20}


def measure(run: Path, step: str, out: Path) -> dict:
    code = CHILD.format(code=STEPS[step])
    p = subprocess.run([sys.executable, "-c", code, str(run), str(out)], capture_output=True,
                       text=True, timeout=900)
    if p.returncode != 0:
        raise RuntimeError(f"{step} failed:\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--mix", type=int, nargs=3, default=[1000, 1000, 600],
                    metavar=("FORTUNES", "SMS", "LITERATURE"),
                    help="demo documents of each kind in the base run (default: ~1.7 KB mean)")
    ap.add_argument("--work", default=None, help="work directory (default: a temp dir, removed)")
    ap.add_argument("--write", default=None, help="append the result table to this file")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work or tmp)
        t = time.perf_counter()
        base = base_run(work, tuple(args.mix))
        print(f"base run: {time.perf_counter() - t:.1f} s", flush=True)
        results = {}
        for docs in (args.docs // 10, args.docs):
            dest = work / f"synth_{docs}"
            t = time.perf_counter()
            info = replicate(base, dest, docs)
            print(f"{docs:,}: built in {time.perf_counter() - t:.1f} s: {info}", flush=True)
            for step in STEPS:
                r = measure(dest, step, work / f"report_{docs}.html")
                print(f"  {step:9s} {r['s']:7.1f} s  peak RSS {r['rss_mb']:7.0f} MB", flush=True)
                results[(docs, step)] = (info, r)
        lines = [
            f"Synthetic runs of real rows ({info['base_docs']:,} real documents of a pipeline run "
            "replicated with fresh ids), 8 Parquet files per kind, zstd. Each step in a fresh "
            "process; time includes imports; peak RSS (VmHWM) of that process.",
            "",
            "| documents | text MB | step | seconds | peak RSS MB |",
            "|---:|---:|---|---:|---:|",
        ]
        for (_docs, step), (info, r) in results.items():
            lines.append(f"| {info['documents']:,} | {info['text_mb']:.0f} | {step} | "
                         f"{r['s']:.1f} | {r['rss_mb']:.0f} |")
        text = "\n".join(lines)
        print(text)
        if args.write:
            with open(args.write, "a", encoding="utf-8") as f:
                f.write("\n" + text + "\n")


if __name__ == "__main__":
    main()
