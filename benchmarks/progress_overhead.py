"""What progress reporting costs a `gristmill run`, on the real demo corpus.

Two measurements:
  calls     the cost of one ``progress.count()`` call, off (no progress directory: what
            every hook costs when reporting is off or on a cluster) and on (counted into the
            process's tally); times the calls a run makes per document (printed) gives a bound
            that does not depend on how busy the machine is
  runs      the whole demo corpus through the demo pipeline (configs/demo.yaml without the two
            fastText filters, which need `make models`): progress off (--progress-every 0) and
            on (every 10 s, INFO lines to a null handler), alternated, median of --repeats; wall
            time and this process's CPU time (the in-process runner does all the work here, so
            CPU time is the figure other processes on a busy machine disturb least)

The machine may be shared: the load average is recorded with the figures.

    .venv/bin/python benchmarks/progress_overhead.py [--repeats 3] [--write benchmarks/RESULTS.md]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
import timeit
from pathlib import Path

import yaml

from gristmill.config import parse_config
from gristmill.data.demo import build_demo
from gristmill.pipelines import progress
from gristmill.pipelines.run import run_pipeline

REPO = Path(__file__).resolve().parents[1]


def per_call(tmp: Path) -> tuple[float, float]:
    """(ns per count() with reporting off, ns per count() into a tally)."""
    n = 200_000
    progress._reset_tally()
    os.environ.pop(progress.ENV_DIR, None)
    off = min(timeit.repeat(lambda: progress.count("read"), number=n, repeat=5)) / n
    (tmp / "p").mkdir()
    os.environ[progress.ENV_DIR] = str(tmp / "p")
    progress._reset_tally()
    on = min(timeit.repeat(lambda: progress.count("read"), number=n, repeat=5)) / n
    progress._reset_tally()
    os.environ.pop(progress.ENV_DIR)
    return off * 1e9, on * 1e9


def demo_config():
    raw = yaml.safe_load((REPO / "configs" / "demo.yaml").read_text())
    raw["filters"] = [f for f in raw["filters"] if f["name"] != "fasttext"]
    return parse_config(raw)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--write", default=None, help="append a section to this RESULTS.md")
    args = ap.parse_args()
    logging.getLogger("apache_beam").setLevel(logging.WARNING)
    gm = logging.getLogger("gristmill")
    gm.setLevel(logging.INFO)
    gm.addHandler(logging.NullHandler())
    gm.propagate = False

    demo = Path(os.environ.get("GRISTMILL_DEMO", Path(tempfile.gettempdir()) / "gristmill-demo"))
    if not (demo / "corpus").exists():
        build_demo(demo)
    cfg = demo_config()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        off_ns, on_ns = per_call(Path(tmp))
        times: dict[str, list[float]] = {"off": [], "on": []}
        cpu: dict[str, list[float]] = {"off": [], "on": []}
        docs = 0
        for i in range(args.repeats):
            for mode in ("off", "on") if i % 2 == 0 else ("on", "off"):
                out = Path(tmp) / f"run-{mode}-{i}"
                t0, c0 = time.perf_counter(), time.process_time()
                s = run_pipeline([str(demo / "corpus")], str(out), cfg,
                                 progress_every=10.0 if mode == "on" else 0)
                times[mode].append(time.perf_counter() - t0)
                cpu[mode].append(time.process_time() - c0)
                docs = s["input_records"]
                print(f"{mode:>3} run {i}: {times[mode][-1]:.1f} s, CPU {cpu[mode][-1]:.1f} s", flush=True)
    load_after = os.getloadavg()
    off, on = statistics.median(times["off"]), statistics.median(times["on"])
    coff, con = statistics.median(cpu["off"]), statistics.median(cpu["on"])
    lines = [
        "",
        "## Progress reporting overhead (issue 13)",
        "",
        f"`benchmarks/progress_overhead.py`, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs, load average "
        f"{load_before[0]:.2f} before / {load_after[0]:.2f} after (1 min).",
        "",
        f"- `progress.count()`: {off_ns:.0f} ns per call with reporting off, {on_ns:.0f} ns counting. "
        "This pipeline makes about 8 calls per document (ids, read, parsed, passed filters, "
        "dedup spill, bands and decide, written; tokenize counts per batch): ~"
        f"{8 * on_ns / 1000:.1f} µs per document.",
        f"- demo corpus ({docs:,} documents), demo pipeline without the fastText filters, "
        f"{args.repeats} runs each, alternated: off {off:.1f} s (median; all "
        f"{', '.join(f'{t:.1f}' for t in times['off'])}), on {on:.1f} s (all "
        f"{', '.join(f'{t:.1f}' for t in times['on'])}): {100 * (on - off) / off:+.1f}%; CPU time of "
        f"the process: off {coff:.1f} s, on {con:.1f} s: {100 * (con - coff) / coff:+.1f}%; on minus off, "
        f"run by run (CPU s): {', '.join(f'{b - a:+.1f}' for a, b in zip(cpu['off'], cpu['on'], strict=True))}.",
        "",
    ]
    print("\n".join(lines))
    if args.write:
        with open(args.write, "a", encoding="utf-8") as f:
            f.write("\n".join(lines))


if __name__ == "__main__":
    main()
