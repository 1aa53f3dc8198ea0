"""Start-up time of the command line: `gristmill --help` and `gristmill filters list`.

Each command runs N times in a fresh process (round robin, so a change in machine load hits all
of them alike), next to `python -c pass` as the floor. Reported per command: the median and
the minimum wall time, and the median CPU time (user + system of the child process), which a
busy machine inflates much less than wall time. The load average is recorded beside the
numbers. Target: `gristmill --help` and `gristmill filters list` under 0.5 s wall.

`--compare-src DIR` also times the same commands with another checkout's `src/` first on
PYTHONPATH (for example a tree before the lazy imports), labelled by that path.

    .venv/bin/python benchmarks/startup.py [--runs 15] [--compare-src ../old/src] [--write benchmarks/RESULTS.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
# The installed `gristmill` script (what a user runs); `python -m gristmill.cli` without one.
SCRIPT = Path(sys.executable).with_name("gristmill")
GRISTMILL = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "gristmill.cli"]
COMMANDS: list[tuple[str, list[str]]] = [
    ("python -c pass", [sys.executable, "-c", "pass"]),
    ("gristmill --help", [*GRISTMILL, "--help"]),
    ("gristmill filters list", [*GRISTMILL, "filters", "list"]),
    ("gristmill run --help", [*GRISTMILL, "run", "--help"]),
]
TARGET_S = 0.5


def time_once(argv: list[str], src: Path) -> tuple[float, float]:
    """(wall seconds, child CPU seconds) of one run of ``argv`` with ``src`` first on
    PYTHONPATH (so the script runs that tree's code)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")])}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(trees: list[tuple[str, Path]], runs: int) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """Every (tree, command) ``runs`` times, round robin, after one untimed warm-up each (the
    first run also compiles bytecode)."""
    cases = [(label, src, name, argv) for label, src in trees for name, argv in COMMANDS
             if not (label != trees[0][0] and name == "python -c pass")]
    for _, src, _, argv in cases:
        time_once(argv, src)
    times: dict[tuple[str, str], list[tuple[float, float]]] = {(c[0], c[2]): [] for c in cases}
    for _ in range(runs):
        for label, src, name, argv in cases:
            times[(label, name)].append(time_once(argv, src))
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=15, help="timed runs per command (default 15)")
    ap.add_argument("--compare-src", type=Path, default=None,
                    help="also time another checkout's src/ directory")
    ap.add_argument("--write", default=None, help="append a results section to this Markdown file")
    args = ap.parse_args()
    trees = [("this tree", SRC)]
    if args.compare_src:
        trees.append((str(args.compare_src), args.compare_src.resolve()))
    load_before = os.getloadavg()
    times = measure(trees, args.runs)
    load_after = os.getloadavg()

    lines = [
        "## start-up (issue 13: lazy imports, torch in the `train` extra)",
        "",
        f"`benchmarks/startup.py --runs {args.runs}` on {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; load average {load_before[0]:.1f} / "
        f"{load_before[1]:.1f} / {load_before[2]:.1f} (1/5/15 min) before and "
        f"{load_after[0]:.1f} / {load_after[1]:.1f} / {load_after[2]:.1f} after. Each command runs "
        f"in a fresh process (`{' '.join(Path(a).name for a in GRISTMILL)} ...`), round robin; CPU is the child's "
        f"user + system time, which machine load inflates less than wall time. Target: < {TARGET_S} s wall.",
        "",
        "| tree | command | median wall s | min wall s | median CPU s |",
        "|---|---|---:|---:|---:|",
    ]
    for (label, name), samples in times.items():
        walls = [w for w, _ in samples]
        cpus = [c for _, c in samples]
        lines.append(f"| {label} | `{name}` | {statistics.median(walls):.3f} | {min(walls):.3f} | "
                     f"{statistics.median(cpus):.3f} |")
    lines.append("")
    text = "\n".join(lines)
    print(text)
    if args.write:
        with open(args.write, "a", encoding="utf-8") as f:
            f.write("\n" + text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
