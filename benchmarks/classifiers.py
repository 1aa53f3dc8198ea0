"""Classifier throughput (docs/s per core) and the classifier share of the pipeline's time.

Measured in one run on the real demo corpus (fortunes, SMS, literature: ~23.8k documents):

1. Per filter, one process, one thread, CPU time of the process (``time.process_time``), so
   the rate is per core: the toxicity model with word bigrams (the default) and the same
   model trained without bigrams (``word_ngrams=1``), the spam model, and the ``language``
   filter (lid.176). Filters alternate in rounds; the best round counts (least disturbed).
2. The pipeline: ``run_pipeline`` (Beam in-process, one worker) on the whole demo corpus with
   the default config, and with the same config minus the classifier filters. The share is
   (CPU with - CPU without) / CPU with. A second estimate, immune to run-to-run noise:
   the classifiers' own CPU on the documents that reach them in the chain / pipeline CPU.

    .venv/bin/python benchmarks/classifiers.py [--demo data/demo] [--models models] [--json OUT]

Models are taken from ``--models`` (``make models``) or trained into a temp dir when missing.
"""

from __future__ import annotations

import argparse
import collections
import json
import tempfile
import time
from pathlib import Path

from gristmill.classify.train import TrainConfig, train_classifier
from gristmill.config import load_config
from gristmill.data.demo import build_demo
from gristmill.filters import create
from gristmill.filters.chain import FilterChain
from gristmill.schemas import Document

CLASSIFIERS = ("language", "fasttext")


def load_docs(demo: Path) -> list[Document]:
    docs = []
    for fn in ("fortunes.jsonl", "sms_spam.jsonl", "literature.jsonl"):
        for line in (demo / "corpus" / fn).read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            docs.append(Document(r["id"], r["text"], r["source"]))
    return docs


def models(demo: Path, model_dir: Path, tmp: Path) -> dict[str, Path]:
    out = {}
    for name, data, pos in (("toxicity", "fortunes", "offensive"), ("spam", "sms_spam", "spam")):
        path = model_dir / f"{name}.bin"
        if not path.is_file():
            path = train_classifier([demo / "corpus" / f"{data}.jsonl"], tmp / f"{name}.bin",
                                    positive=pos).model_path
        out[name] = path
    out["toxicity_unigram"] = train_classifier(
        [demo / "corpus" / "fortunes.jsonl"], tmp / "toxicity_unigram.bin",
        TrainConfig(word_ngrams=1), positive="offensive").model_path
    return out


def filter_rates(docs: list[Document], paths: dict[str, Path], rounds: int = 3) -> dict[str, dict]:
    filters = {
        "fasttext toxicity, bigrams": create("fasttext", model=str(paths["toxicity"]), remove="offensive", tag="t2"),
        "fasttext toxicity, no bigrams": create("fasttext", model=str(paths["toxicity_unigram"]),
                                                remove="offensive", tag="t1"),
        "fasttext spam, bigrams": create("fasttext", model=str(paths["spam"]), remove="spam", tag="s"),
        "language (lid.176)": create("language"),
        "language (lid.176), max_chars=2000": create("language", max_chars=2000),
    }
    best: dict[str, float] = {}
    for f in filters.values():
        f.setup()
    for _ in range(rounds):
        for name, f in filters.items():
            texts = [Document(d.id, d.text + " ", d.source) for d in docs]  # fresh text objects:
            t = time.process_time()  # no filter reuses another's tokenization here
            for d in texts:
                f(d)
            dt = time.process_time() - t
            best[name] = min(best.get(name, float("inf")), dt)
    return {k: {"docs": len(docs), "cpu_s": round(v, 3), "docs_per_s_per_core": round(len(docs) / v)}
            for k, v in best.items()}


def pipeline_share(demo: Path, tmp: Path, paths: dict[str, Path]) -> dict:
    from gristmill.pipelines.run import run_pipeline

    cfg = load_config()
    for spec in cfg.filters:  # point the default config at the models used here
        if spec.name == "fasttext":
            spec.params["model"] = str(paths[spec.params["tag"]])
    without = cfg.model_copy(deep=True)
    without.filters = [s for s in cfg.filters if s.name not in CLASSIFIERS]
    res = {}
    for label, c in (("without classifiers", without), ("with classifiers", cfg), ):
        t, w = time.process_time(), time.perf_counter()
        s = run_pipeline([str(demo / "corpus")], str(tmp / label.replace(" ", "_")), c, workers=1)
        res[label] = {"cpu_s": round(time.process_time() - t, 2), "wall_s": round(time.perf_counter() - w, 2),
                      "kept": s["kept"], "rejected": s["rejected"]}
    # direct estimate: run the configured chain in order and time only the classifier steps,
    # so each classifier sees exactly the documents that reach it in the pipeline
    chain = FilterChain.from_specs([s.model_dump() for s in cfg.filters])
    chain.setup()
    clf_ns, reaching = 0, collections.Counter()
    for d in load_docs(demo):
        for step in chain.steps:
            is_clf = step.filter.__class__.name in CLASSIFIERS
            t0 = time.perf_counter_ns()
            v = step.filter(d)
            if is_clf:
                clf_ns += time.perf_counter_ns() - t0
                reaching[step.filter.name] += 1
            if v.scores:
                d.scores.update(v.scores)
            if not v.keep and step.mode == "filter":
                break
    clf_cpu = clf_ns / 1e9
    with_cpu, without_cpu = res["with classifiers"]["cpu_s"], res["without classifiers"]["cpu_s"]
    res["share_by_difference"] = round((with_cpu - without_cpu) / with_cpu, 3)
    res["classifier_cpu_s_on_reaching_docs"] = round(clf_cpu, 2)
    res["docs_reaching_classifiers"] = dict(reaching)
    res["share_direct"] = round(clf_cpu / with_cpu, 3)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--demo", default="data/demo", help="demo corpus dir (built when missing)")
    ap.add_argument("--models", default="models", help="dir with toxicity.bin and spam.bin")
    ap.add_argument("--skip-pipeline", action="store_true", help="only the per-filter rates")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    demo = Path(args.demo)
    if not (demo / "corpus" / "fortunes.jsonl").is_file():
        build_demo(demo)
    with tempfile.TemporaryDirectory(prefix="gristmill-bench-clf-") as t:
        tmp = Path(t)
        paths = models(demo, Path(args.models), tmp)
        docs = load_docs(demo)
        out = {"filters": filter_rates(docs, paths)}
        for k, v in out["filters"].items():
            print(f"{k:32s} {v['docs_per_s_per_core']:>8,} docs/s per core ({v['docs']} docs, {v['cpu_s']} s CPU)")
        if not args.skip_pipeline:
            out["pipeline"] = pipeline_share(demo, tmp, paths)
            print(json.dumps(out["pipeline"], indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
