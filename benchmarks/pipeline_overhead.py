"""Beam's cost per document, and what 2 workers buy, on the real demo corpus.

Three ways to run the SAME filter chain over the SAME documents, measured in one run:
  loop    plain Python: FilterChain over a list (the floor; no Beam)
  beam1   Beam in-process (FnApiRunner, one worker): ReadCorpus -> parse -> Normalize ->
          ApplyFilters -> count (the pipeline's own transforms)
  beam2   Beam with 2 worker processes (FnApiRunner multi_processing)
The loop does the same work with the same functions: read the JSONL files, parse, normalize,
filter. Documents are written to 8 JSONL files first, so workers can share them out.
Start-up is excluded by timing each Beam configuration at two sizes, N and N/4, and using
the slope: docs/s = (N - N/4) / (t(N) - t(N/4)).

Two chains: "light" (word_count only: the per-document overhead of Beam itself shows) and
"heavy" (every heuristic quality filter registered: the CPU-bound case for 2 workers).

    .venv/bin/python benchmarks/pipeline_overhead.py [--docs 40000] [--write benchmarks/RESULTS.md]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import apache_beam as beam

from gristmill.config import InputConfig, NormalizeConfig, parse_config
from gristmill.data.demo import build_demo
from gristmill.filters import available
from gristmill.filters.chain import FilterChain
from gristmill.filters.normalize import normalize_text
from gristmill.pipelines.beam_util import make_pipeline
from gristmill.pipelines.parse import parse_or_error
from gristmill.pipelines.readers import InputFile, read_file
from gristmill.pipelines.transforms import ApplyFilters, Normalize, ReadCorpus
from gristmill.schemas import Document

HEAVY = ["word_count", "gopher_quality", "gopher_repetition", "c4", "fineweb_quality", "special_characters"]


def load_docs(n: int) -> list[Document]:
    demo = Path(os.environ.get("GRISTMILL_DEMO", Path(tempfile.gettempdir()) / "gristmill-demo"))
    if not (demo / "corpus").exists():
        build_demo(demo)
    base = []
    for fn in ("literature.jsonl", "fortunes.jsonl", "sms_spam.jsonl"):
        for line in (demo / "corpus" / fn).read_text().splitlines():
            r = json.loads(line)
            base.append(Document(r["id"], r["text"], r["source"]))
    # literature scenes are ~7 KB; cut them into ~2 KB pieces so document sizes are web-like
    docs = []
    for d in base:
        for i in range(0, max(1, len(d.text)), 2000):
            docs.append(Document(f"{d.id}#{i}", d.text[i : i + 2000], d.source))
    out = []
    k = 0
    while len(out) < n:
        for d in docs:
            out.append(Document(f"{d.id}@{k}", d.text, d.source))
            if len(out) >= n:
                break
        k += 1
    return out


def specs_for(chain: str) -> list[dict]:
    names = ["word_count"] if chain == "light" else [n for n in HEAVY if n in available()]
    params = {"word_count": {"min_words": 5}}
    return [{"name": n, "params": params.get(n, {}), "mode": "filter"} for n in names]


def write_files(docs: list[Document], d: Path, parts: int = 8) -> list[InputFile]:
    d.mkdir(parents=True, exist_ok=True)
    files = []
    for k in range(parts):
        path = d / f"part-{k}.jsonl"
        with open(path, "w") as f:
            for doc in docs[k::parts]:
                f.write(json.dumps({"id": doc.id, "text": doc.text, "source": doc.source}) + "\n")
        files.append(InputFile(str(path), path.name))
    return files


def run_loop(files: list[InputFile], specs: list[dict]) -> float:
    chain = FilterChain.from_specs(specs)
    chain.setup()
    cfg = InputConfig()
    t = time.perf_counter()
    kept = 0
    for f in files:
        for raw in read_file(f):
            doc = parse_or_error(raw, cfg)
            doc.text = normalize_text(doc.text)
            if not doc.text:
                continue
            _, rej = chain(doc)
            kept += rej is None
    return time.perf_counter() - t


def run_beam(files: list[InputFile], specs: list[dict], workers: int) -> float:
    t = time.perf_counter()
    p = make_pipeline(None, workers)
    cfg = InputConfig()
    docs = p | ReadCorpus(files, cfg) | "Parse" >> beam.Map(parse_or_error, cfg)
    normed = docs | "Normalize" >> Normalize(NormalizeConfig())
    out = normed["docs"] | "Filters" >> ApplyFilters(specs)
    # count each output separately: a Flatten here would make the runner materialize both
    # inputs (a stage boundary that the real pipeline's writers do not add)
    _ = out["docs"] | "CountKept" >> beam.combiners.Count.Globally()
    _ = out["rejected"] | "CountRejected" >> beam.combiners.Count.Globally()
    p.run().wait_until_finish()
    return time.perf_counter() - t


def slope(fn, big: list[InputFile], small: list[InputFile], n_big: int, n_small: int, *a) -> float:
    t_small = fn(small, *a)
    t_big = fn(big, *a)
    return (n_big - n_small) / max(1e-9, t_big - t_small)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=40_000)
    ap.add_argument("--write", default=None, help="append a results section to this Markdown file")
    args = ap.parse_args()
    parse_config({"filters": specs_for("heavy")})  # validates names and params
    docs = load_docs(args.docs)
    mb = sum(len(d.text.encode()) for d in docs) / 1e6
    tmp = Path(tempfile.mkdtemp(prefix="gm-bench-"))
    big = write_files(docs, tmp / "big")
    # every 4th document: the small run must have the same mix as the big one, or the slope
    # measures the cost of a different kind of document
    small_docs = docs[::4]
    n_small = len(small_docs)
    small = write_files(small_docs, tmp / "small")
    rows = []
    for chain in ("light", "heavy"):
        specs = specs_for(chain)
        t_loop = run_loop(big, specs)
        loop = len(docs) / t_loop
        b1 = slope(run_beam, big, small, len(docs), n_small, specs, 1)
        b2 = slope(run_beam, big, small, len(docs), n_small, specs, 2)
        overhead_us = (1 / b1 - 1 / loop) * 1e6
        rows.append((chain, [s["name"] for s in specs], loop, b1, b2, overhead_us))
        print(f"{chain}: loop {loop:,.0f} docs/s | beam 1 worker {b1:,.0f} docs/s | beam 2 workers {b2:,.0f} docs/s"
              f" | beam overhead {overhead_us:.1f} us/doc | 2 workers / loop {b2 / loop:.2f}x", flush=True)
    lines = [
        "## Pipeline overhead (issue 2)",
        "",
        f"`benchmarks/pipeline_overhead.py --docs {args.docs}`: {len(docs):,} real demo documents "
        f"(~2 KB pieces, {mb:.1f} MB), {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"apache-beam {beam.__version__}. Beam rates are slopes between N and N/4 documents (start-up excluded).",
        "",
        "| chain | filters | loop docs/s | Beam 1 worker docs/s | Beam 2 workers docs/s | Beam overhead µs/doc | 2 workers ÷ loop |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for chain, names, loop, b1, b2, ov in rows:
        lines.append(f"| {chain} | {', '.join(names)} | {loop:,.0f} | {b1:,.0f} | {b2:,.0f} | {ov:.1f} | {b2 / loop:.2f}x |")
    lines.append("")
    text = "\n".join(lines)
    print(text)
    if args.write:
        with open(args.write, "a") as f:
            f.write("\n" + text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
