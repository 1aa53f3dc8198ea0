"""Dedup speed and scale benchmarks.

    .venv/bin/python benchmarks/dedup.py signatures [--docs 2000]
        MinHash signatures per second on one core: the naive datasketch loop (fresh MinHash,
        ``update`` per shingle, default SHA-1) vs gristmill's path (xxhash once per shingle,
        ``MinHash.generator``/``update_batch``), side by side on the same ~2 KB demo texts.

    .venv/bin/python benchmarks/dedup.py scale --docs 1000000 [--workers 2] [--out DIR]
        Exact + MinHash dedup end to end through Beam (FnApiRunner, multi_processing) over
        documents made by sampling and mutating demo text; wall time and peak memory summed
        over the runner and its worker processes (sampled from /proc every 0.5 s), peak disk
        used by dedup's spill files, and a digest of the decisions (to compare runs).

    .venv/bin/python benchmarks/dedup.py pipeline --docs 1000000 [--workers 2] [--out DIR]
        The real ``gristmill run`` (normalize, word_count, exact + MinHash dedup, Parquet
        outputs) over the same synthetic documents written as 8 JSONL files, run twice: wall
        time, peak memory, the balance check, and whether the two runs' kept/ and rejected/
        files are byte-identical.

All need the demo corpus (``gristmill data demo /tmp/demo``); pass ``--demo`` if elsewhere.
Results are printed as JSON (one line) for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

import apache_beam as beam
import yaml
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from gristmill.config import DedupConfig, ExactDedupConfig, MinHashDedupConfig
from gristmill.dedup.evalset import BOILERPLATE
from gristmill.dedup.minhash import Signer, naive_signature
from gristmill.pipelines.dedup import Deduplicate
from gristmill.schemas.records import Document


def _read_texts(demo: Path, name: str) -> list[str]:
    with open(demo / "corpus" / f"{name}.jsonl", encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f]


# ---------------------------------------------------------------- signatures


def bench_signatures(demo: Path, n: int, num_perm: int) -> dict:
    """Both paths on the same ~2 KB texts (windows of the literature), one core each."""
    lit = _read_texts(demo, "literature")
    rng = random.Random(0)
    texts = []
    while len(texts) < n:
        t = rng.choice(lit)
        start = rng.randrange(max(1, len(t) - 2048))
        texts.append(t[start : start + 2048])
    signer = Signer(num_perm=num_perm)
    n_naive = max(50, n // 10)  # the naive loop is slow; its rate is stable on fewer docs
    t0 = time.perf_counter()
    naive = [naive_signature(t, num_perm=num_perm) for t in texts[:n_naive]]
    t_naive = time.perf_counter() - t0
    t0 = time.perf_counter()
    fast = list(signer.signatures(texts))
    t_fast = time.perf_counter() - t0
    assert len(naive) == n_naive and len(fast) == n
    return {
        "bench": "dedup.signatures",
        "doc_bytes": 2048,
        "num_perm": num_perm,
        "naive_docs_per_s": round(n_naive / t_naive, 1),
        "gristmill_docs_per_s": round(n / t_fast, 1),
        "speedup": round((n / t_fast) / (n_naive / t_naive), 2),
    }


# ---------------------------------------------------------------- scale


class _Generate(beam.DoFn):
    """Documents ``start..stop`` of the synthetic corpus, regenerated deterministically.

    A fresh document is 5-30 random lines of the demo literature plus a fortune or an SMS
    (real text, unique with overwhelming probability). 20% of documents are near-duplicates of
    an earlier one (insertions, deletions or appended boilerplate at 0-10% of the words) and
    5% are exact copies; any document can be rebuilt from its index alone, so no step keeps a
    list of the corpus.
    """

    def __init__(self, demo: str) -> None:
        self.demo = demo

    def setup(self) -> None:
        demo = Path(self.demo)
        self.lines = [ln for t in _read_texts(demo, "literature") for ln in t.split("\n") if ln.strip()]
        self.short = _read_texts(demo, "fortunes") + _read_texts(demo, "sms_spam")

    def fresh(self, i: int) -> str:
        rng = random.Random(i * 7919 + 17)
        k = rng.randint(5, 30)
        body = [rng.choice(self.lines) for _ in range(k)]
        body.insert(rng.randint(0, k), rng.choice(self.short))
        return "\n".join(body)

    def process(self, span: tuple[int, int]):
        for i in range(*span):
            rng = random.Random(i)
            u = rng.random()
            if u < 0.75 or i < 10:
                text = self.fresh(i)
            else:
                j = i - rng.randint(1, min(i, 50_000))
                text = self.fresh(j)
                if u < 0.95:
                    words = text.split()
                    k = max(1, int(rng.uniform(0.0, 0.1) * len(words)))
                    kind = rng.randrange(3)
                    if kind == 0:
                        for _ in range(k):
                            words.insert(rng.randrange(len(words) + 1), rng.choice(words))
                    elif kind == 1:
                        for _ in range(min(k, len(words) - 1)):
                            del words[rng.randrange(len(words))]
                    else:
                        words += rng.choice(BOILERPLATE).split()[:k]
                    text = " ".join(words)
            yield Document(id=f"doc{i:08d}", text=text, source="synthetic")


class _PeakRss:
    """Peak of the summed RSS of this process and all its descendants, from /proc, and the
    peak size of the files under ``disk_dir`` (dedup's spill files)."""

    def __init__(self, disk_dir: Path, interval: float = 0.5) -> None:
        self.interval = interval
        self.disk_dir = disk_dir
        self.peak_disk = 0
        self.peak = 0
        self.peak_procs = 0
        self.peak_main = 0
        self.timeline: list[tuple[float, float, float]] = []  # (s, total GB, runner GB)
        self._t0 = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _tree_rss() -> tuple[int, int, int]:
        children: dict[int, list[int]] = {}
        rss: dict[int, int] = {}
        page = os.sysconf("SC_PAGE_SIZE")
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
                fields = stat[stat.rindex(")") + 2 :].split()
                pid, ppid = int(entry), int(fields[1])
                rss[pid] = int(fields[21]) * page
                children.setdefault(ppid, []).append(pid)
            except (OSError, ValueError, IndexError):
                continue
        todo, total, n = [os.getpid()], 0, 0
        while todo:
            p = todo.pop()
            total += rss.get(p, 0)
            n += 1
            todo.extend(children.get(p, []))
        return total, n, rss.get(os.getpid(), 0)

    def _run(self) -> None:
        while not self._stop.is_set():
            total, n, main = self._tree_rss()
            self.timeline.append(
                (round(time.perf_counter() - self._t0, 1), round(total / 1e9, 3), round(main / 1e9, 3))
            )
            if total > self.peak:
                self.peak, self.peak_procs, self.peak_main = total, n, main
            disk = 0
            for f in self.disk_dir.glob("*"):
                with contextlib.suppress(OSError):  # deleted while we looked
                    disk += f.stat().st_size
            self.peak_disk = max(self.peak_disk, disk)
            self._stop.wait(self.interval)

    def __enter__(self) -> _PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def bench_scale(
    demo: Path,
    n_docs: int,
    workers: int,
    out_dir: Path,
    shard_docs: int,
    stages: str = "both",
    mode: str = "multi_processing",
) -> dict:
    options = PipelineOptions(direct_num_workers=workers, direct_running_mode=mode)
    cfg = DedupConfig(
        exact=ExactDedupConfig() if stages in ("both", "exact") else None,
        minhash=MinHashDedupConfig(threshold=0.8) if stages in ("both", "minhash") else None,
    )
    spans = [(s, min(s + shard_docs, n_docs)) for s in range(0, n_docs, shard_docs)]
    t0 = time.perf_counter()
    with _PeakRss(out_dir / "spill") as mem:
        p = beam.Pipeline(runner=FnApiRunner(), options=options)
        docs = (
            p
            | "Spans" >> beam.Create(spans)
            | "Reshuffle" >> beam.Reshuffle()
            | "Generate" >> beam.ParDo(_Generate(str(demo)))
        )
        out = docs | "Dedup" >> Deduplicate(cfg, spill_dir=str(out_dir / "spill"))
        (
            out["rejected"]
            | "RejLine" >> beam.Map(lambda r: f"{r.doc.id}\t{r.filter}\t{r.duplicate_of}\t{r.value:.4f}")
            | "WriteRejected" >> beam.io.WriteToText(str(out_dir / "rejected"), file_name_suffix=".tsv")
        )
        (
            out["kept"]
            | "KeptId" >> beam.Map(lambda d: d.id)
            | "WriteKept" >> beam.io.WriteToText(str(out_dir / "kept"), file_name_suffix=".txt")
        )
        result = p.run()
        result.wait_until_finish()
    wall = time.perf_counter() - t0
    counters = {
        c.key.metric.name: c.committed
        for c in result.metrics().query(MetricsFilter().with_namespace("dedup"))["counters"]
    }

    def count(prefix: str) -> int:
        return sum(len(f.read_text().splitlines()) for f in out_dir.glob(prefix + "*"))

    by_filter: dict[str, int] = {}
    for f in out_dir.glob("rejected*"):
        for line in f.read_text().splitlines():
            k = line.split("\t")[1]
            by_filter[k] = by_filter.get(k, 0) + 1
    kept = count("kept")
    rejected = sum(by_filter.values())
    # Order-independent digest of the decisions, to compare runs (same input -> same digest).
    lines = sorted(ln for f in sorted(out_dir.glob("kept*")) + sorted(out_dir.glob("rejected*"))
                   for ln in f.read_text().splitlines())
    digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]
    return {
        "bench": "dedup.scale",
        "docs": n_docs,
        "stages": stages,
        "workers": workers,
        "runner": f"FnApiRunner {mode}",
        "wall_s": round(wall, 1),
        "docs_per_s": round(n_docs / wall, 1),
        "peak_rss_gb": round(mem.peak / 1e9, 3),
        "processes_at_peak": mem.peak_procs,
        "runner_process_rss_gb_at_peak": round(mem.peak_main / 1e9, 3),
        "peak_spill_disk_gb": round(mem.peak_disk / 1e9, 3),
        "kept": kept,
        "rejected": by_filter,
        # Every input document must come out kept or rejected; anything else is data loss.
        "unaccounted_docs": n_docs - kept - rejected,
        "decisions_sha256_16": digest,
        "spill_files_left": len(list((out_dir / "spill").glob("*"))),
        "counters": counters,
        "memory_timeline_s_total_runner_gb": mem.timeline[:: max(1, len(mem.timeline) // 60)],
    }


PIPELINE_CONFIG = """
normalize: {}
filters:
  - {name: word_count, params: {min_words: 20}}
dedup:
  exact: {}
  minhash: {threshold: 0.8}
output: {num_shards: 8}
"""


def _write_corpus(demo: Path, n_docs: int, dest: Path, files: int = 8) -> list[Path]:
    """The scale benchmark's documents as JSONL files (kept if already complete)."""
    dest.mkdir(parents=True, exist_ok=True)
    done = dest / f"DONE-{n_docs}"
    paths = [dest / f"part-{k:02d}.jsonl" for k in range(files)]
    if done.exists():
        return paths
    gen = _Generate(str(demo))
    gen.setup()
    per = -(-n_docs // files)
    for k, path in enumerate(paths):
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            for d in gen.process((k * per, min((k + 1) * per, n_docs))):
                f.write(json.dumps({"id": d.id, "text": d.text, "source": d.source}) + "\n")
        tmp.replace(path)
    done.touch()
    return paths


def _tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(root.rglob("*.parquet")):
        h.update(str(f.relative_to(root)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def bench_pipeline(
    demo: Path, n_docs: int, workers: int, out_dir: Path, runs_wanted: int = 2, tokenize: bool = False
) -> dict:
    """``gristmill run`` with dedup, twice, on the synthetic corpus (``tokenize``: GPT-2 token
    shards too, verified after each run)."""
    from gristmill.config import parse_config
    from gristmill.pipelines.run import run_pipeline
    from gristmill.tokenize.verify import verify_shards

    inputs = _write_corpus(demo, n_docs, out_dir / "corpus")
    raw = yaml.safe_load(PIPELINE_CONFIG)
    if tokenize:
        raw["tokenize"] = {"tokenizer": "gpt2"}
    cfg = parse_config(raw, "benchmarks/dedup.py")
    runs = []
    for k in range(runs_wanted):
        run_dir = out_dir / f"run{k}"
        t0 = time.perf_counter()
        with _PeakRss(run_dir.with_name(run_dir.name + ".partial") / "_tmp" / "dedup") as mem:
            summary = run_pipeline([str(p) for p in inputs], str(run_dir), cfg, workers=workers, overwrite=True)
        runs.append({
            "wall_s": round(time.perf_counter() - t0, 1),
            "peak_rss_gb": round(mem.peak / 1e9, 3),
            "runner_process_rss_gb_at_peak": round(mem.peak_main / 1e9, 3),
            "peak_spill_disk_gb": round(mem.peak_disk / 1e9, 3),
            "balanced": summary["balanced"],
            "kept": summary["kept"],
            "by_filter": {f: sum(r.values()) for f, r in summary["by_filter"].items()},
            "digest": {kind: _tree_digest(run_dir / kind) for kind in ("kept", "rejected")},
            "tokens": summary.get("tokens"),
            "shards_problems": verify_shards(run_dir / "shards").problems[:5] if tokenize else None,
            "memory_timeline_s_total_runner_gb": mem.timeline[:: max(1, len(mem.timeline) // 40)],
        })
    return {
        "bench": "dedup.pipeline",
        "docs": n_docs,
        "workers": workers,
        "runs": runs,
        "byte_identical": all(r["digest"] == runs[0]["digest"] for r in runs[1:]) if len(runs) > 1 else None,
        "unaccounted_docs": 0 if all(r["balanced"] for r in runs) else -1,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--demo", type=Path, default=Path("/tmp/demo"), help="demo corpus directory")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("signatures", help="signatures/s: naive datasketch loop vs gristmill")
    s.add_argument("--docs", type=int, default=2000)
    s.add_argument("--num-perm", type=int, default=128)
    c = sub.add_parser("scale", help="end-to-end Beam dedup over N synthetic documents")
    c.add_argument("--docs", type=int, default=100_000)
    c.add_argument("--workers", type=int, default=2)
    c.add_argument("--shard-docs", type=int, default=5000, help="documents per generator split")
    c.add_argument("--mode", choices=["multi_processing", "multi_threading"], default="multi_processing")
    c.add_argument("--stages", choices=["both", "exact", "minhash", "none"], default="both")
    c.add_argument("--out", type=Path, default=None, help="output dir (default: a temp dir)")
    q = sub.add_parser("pipeline", help="gristmill run with dedup, twice, over N synthetic documents")
    q.add_argument("--docs", type=int, default=100_000)
    q.add_argument("--workers", type=int, default=2)
    q.add_argument("--out", type=Path, default=None, help="work dir (default: a temp dir)")
    q.add_argument("--runs", type=int, default=2, help="runs to compare (>= 2 checks byte identity)")
    q.add_argument("--tokenize", action="store_true", help="also write GPT-2 token shards (and verify them)")
    args = ap.parse_args(argv)
    if not (args.demo / "corpus" / "literature.jsonl").exists():
        ap.error(f"demo corpus not found under {args.demo}; run: gristmill data demo {args.demo}")
    if args.cmd == "signatures":
        res = bench_signatures(args.demo, args.docs, args.num_perm)
    elif args.cmd == "pipeline":
        out = args.out or Path(tempfile.mkdtemp(prefix="dedup-pipeline-"))
        res = bench_pipeline(args.demo, args.docs, args.workers, out, args.runs, args.tokenize)
    else:
        out = args.out or Path(tempfile.mkdtemp(prefix="dedup-scale-"))
        out.mkdir(parents=True, exist_ok=True)
        res = bench_scale(
            args.demo, args.docs, args.workers, out, args.shard_docs, args.stages, args.mode
        )
    print(json.dumps(res), flush=True)
    if res.get("unaccounted_docs"):
        print(f"ERROR: {res['unaccounted_docs']} documents neither kept nor rejected", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
