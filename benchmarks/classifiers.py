"""Classifier throughput (docs/s per core) and the classifier share of the pipeline's time.

Measured in one run on the real demo corpus (fortunes, SMS, literature: ~23.8k documents),
one process, one thread, CPU time of the process (``time.process_time``), so rates are per
core; variants alternate in rounds and the best round counts (least disturbed):

1. Per long document (the 1,749 literature scenes, ~7 KB): preprocessing with the regular
   expression (``reference_preprocess``, the previous code) and with ``preprocess``; fastText
   predict through the Python wrapper (previous) and through the binding (``label_probs``);
   whole text and the first 2,000 characters. Then how many decisions a window changes.
2. Per filter, all documents, previous and current code: the toxicity model with word
   bigrams (the default) and the same model trained without bigrams (``word_ngrams=1``), the
   spam model, the ``language`` filter (lid.176), on the whole text and with ``max_chars``.
3. The pipeline: ``run_pipeline`` (Beam in-process, one worker) on the whole demo corpus with
   the default config as it runs now (the filter DoFn runs the chain stage by stage over
   batches of 512 documents, ``FilterChain.run_batch``), with one document at a time
   (``one_document_at_a_time()``: every filter on a document before the next document, as
   before batches), with ``language`` moved after the heuristic rules, and without the
   classifier filters (alternating, two runs each, the lower CPU counts). Every filter's
   calls are timed inside the run (thread CPU): share in the pipeline = classifier CPU / the
   run's CPU; share by difference = (CPU with - CPU without) / CPU with (noisier: two whole
   runs). Batches must not change the results (same kept count and rejections per filter).

    .venv/bin/python benchmarks/classifiers.py [--demo data/demo] [--models models] [--json OUT]
        [--skip-pipeline | --pipeline-only]

Models are the built-in ``toxicity-fortunes`` and ``spam-sms`` (``make models``; built into the
cache when missing), or ``--models DIR/{toxicity,spam}.bin``.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from gristmill.classify.model import LABEL_PREFIX, label_probs, load_model
from gristmill.classify.preprocess import (
    PREPROCESSORS,
    preprocess,
    reference_preprocess,
    single_line,
    window,
)
from gristmill.classify.train import ClassifierConfig, train_classifier
from gristmill.config import load_config
from gristmill.data.demo import build_demo
from gristmill.filters import create
from gristmill.schemas import Document

CLASSIFIERS = ("language", "fasttext")


def load_docs(demo: Path) -> list[Document]:
    docs = []
    for fn in ("fortunes.jsonl", "sms_spam.jsonl", "literature.jsonl"):
        for line in (demo / "corpus" / fn).read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            docs.append(Document(r["id"], r["text"], r["source"]))
    return docs


def models(demo: Path, model_dir: Path | None, tmp: Path) -> dict[str, Path]:
    """The config's two classifiers by tag: ``model_dir/<tag>.bin`` when given and present,
    else the built-in model (built into the cache on first use, as a run does)."""
    from gristmill.classify.builtin import resolve_model

    out = {}
    for tag, name in (("toxicity", "toxicity-fortunes"), ("spam", "spam-sms")):
        path = model_dir / f"{tag}.bin" if model_dir is not None else None
        out[tag] = path if path is not None and path.is_file() else resolve_model(name)
    out["toxicity_unigram"] = train_classifier(
        [demo / "corpus" / "fortunes.jsonl"], tmp / "toxicity_unigram.bin",
        ClassifierConfig(word_ngrams=1), positive="offensive").model_path
    return out


def _wrapper_label_probs(model, line: str, threshold: float = 0.0) -> dict[str, float]:
    """``label_probs`` as it was: through the fastText wrapper's ``predict`` (numpy arrays)."""
    labs, ps = model.predict(line, k=-1, threshold=threshold)
    n = len(LABEL_PREFIX)
    return {lab[n:]: min(float(p), 1.0) for lab, p in zip(labs, ps, strict=True)}


@contextlib.contextmanager
def previous_code() -> Iterator[None]:
    """The filters as they ran before: regex preprocessing, the wrapper's predict, and
    lid.176 returning every language above 0.001."""
    from gristmill.filters import fasttext_filter, language

    saved = PREPROCESSORS["gristmill"], fasttext_filter.label_probs, language.label_probs, language._FLOOR
    PREPROCESSORS["gristmill"] = reference_preprocess
    fasttext_filter.label_probs = language.label_probs = _wrapper_label_probs
    language._FLOOR = 0.001
    try:
        yield
    finally:
        PREPROCESSORS["gristmill"], fasttext_filter.label_probs, language.label_probs, language._FLOOR = saved


def _best_us(variants: dict[str, tuple[Callable, list]], rounds: int) -> dict[str, float]:
    """Best-of-rounds CPU microseconds per item of each ``fn`` over its items, alternating."""
    best: dict[str, float] = {}
    for _ in range(rounds):
        for name, (fn, items) in variants.items():
            t = time.process_time()
            for x in items:
                fn(x)
            best[name] = min(best.get(name, float("inf")), (time.process_time() - t) / len(items) * 1e6)
    return {k: round(v, 1) for k, v in best.items()}


def long_doc_costs(docs: list[Document], paths: dict[str, Path], rounds: int = 3) -> dict[str, float]:
    """Per-document CPU µs on the literature scenes, previous vs current code, full vs window."""
    texts = [d.text for d in docs if d.source in ("shakespeare_modern", "shakespeare_folio", "milton")]
    tox = load_model(paths["toxicity"])
    from gristmill.filters.language import default_langid_model

    lid = load_model(default_langid_model())
    full = [preprocess(t) for t in texts]
    head = [preprocess(window(t, 2000)) for t in texts]
    lid1000 = [single_line(window(t, 1000)) for t in texts]
    lid2000 = [single_line(window(t, 2000)) for t in texts]
    out = _best_us({
        "preprocess, regex (previous), whole text": (reference_preprocess, texts),
        "preprocess, fast path, whole text": (preprocess, texts),
        "preprocess, fast path, first 2000 chars": (lambda t: preprocess(window(t, 2000)), texts),
        "toxicity predict, wrapper (previous), whole text": (lambda x: _wrapper_label_probs(tox, x), full),
        "toxicity predict, binding, whole text": (lambda x: label_probs(tox, x), full),
        "toxicity predict, binding, first 2000 chars": (lambda x: label_probs(tox, x), head),
        "lid.176 predict, wrapper (previous), first 2000 chars": (
            lambda x: _wrapper_label_probs(lid, x, 0.001), lid2000),
        "lid.176 predict, binding, first 2000 chars": (lambda x: label_probs(lid, x, 0.001), lid2000),
        "lid.176 predict, binding, first 1000 chars": (lambda x: label_probs(lid, x, 0.001), lid1000),
    }, rounds)
    out["documents"] = len(texts)
    return out


def filter_rates(docs: list[Document], paths: dict[str, Path], rounds: int = 3) -> dict[str, dict]:
    filters = {
        "fasttext toxicity, bigrams": create("fasttext", model=str(paths["toxicity"]), remove="offensive", tag="t2"),
        "fasttext toxicity, bigrams, max_chars=2000": create(
            "fasttext", model=str(paths["toxicity"]), remove="offensive", tag="t2w", max_chars=2000),
        "fasttext toxicity, no bigrams": create("fasttext", model=str(paths["toxicity_unigram"]),
                                                remove="offensive", tag="t1"),
        "fasttext spam, bigrams": create("fasttext", model=str(paths["spam"]), remove="spam", tag="s"),
        "language (lid.176)": create("language"),
        "language (lid.176), max_chars=2000": create("language", max_chars=2000),
        "language (lid.176), max_chars=1000": create("language", max_chars=1000),
    }
    best: dict[tuple[str, str], float] = {}
    for f in filters.values():
        f.setup()
    for _ in range(rounds):
        for name, f in filters.items():
            for code in ("previous", "current"):
                texts = [Document(d.id, d.text + " ", d.source) for d in docs]  # fresh text objects:
                with previous_code() if code == "previous" else contextlib.nullcontext():
                    t = time.process_time()  # no filter reuses another's tokenization here
                    for d in texts:
                        f(d)
                    dt = time.process_time() - t
                best[name, code] = min(best.get((name, code), float("inf")), dt)
    return {name: {"docs": len(docs), **{f"docs_per_s_per_core, {code} code": round(len(docs) / best[name, code])
                                         for code in ("previous", "current")}}
            for name in filters}


def window_decisions(docs: list[Document], paths: dict[str, Path]) -> dict[str, dict]:
    """How many keep/reject decisions a scoring window changes against whole-text scoring,
    on every demo document (only those longer than the window can change), at the
    configs' thresholds; and by source."""
    makers = {
        "fasttext spam (threshold 0.5)": lambda m: create(
            "fasttext", model=str(paths["spam"]), remove="spam", threshold=0.5, tag="s", max_chars=m),
        "fasttext toxicity (threshold 0.5)": lambda m: create(
            "fasttext", model=str(paths["toxicity"]), remove="offensive", threshold=0.5, tag="t", max_chars=m),
        "language (en, min_score 0.65)": lambda m: create("language", max_chars=m),
    }
    out = {}
    for name, make in makers.items():
        whole = [make(None)(d).keep for d in docs]
        row = {"rejected_whole_text": whole.count(False)}
        for m in (500, 1000, 2000, 4000):
            f = make(m)
            changed = collections.Counter(d.source for d, w in zip(docs, whole, strict=True) if f(d).keep != w)
            row[f"max_chars={m}"] = {"changed": sum(changed.values()), "longer_docs": sum(len(d.text) > m for d in docs),
                                     "by_source": dict(changed)}
        out[name] = row
    return out


@contextlib.contextmanager
def timed_filters(acc: dict[str, list[float]], names: list[str]) -> Iterator[None]:
    """Add the thread CPU time of every call of the named filters and 1 to ``acc[filter
    name]`` (``[seconds, calls]``). The runner is in-process (one worker), so the DoFn's copies
    of the filters run in this process and the time includes what the rest of the pipeline
    does to the CPU caches between calls."""
    from gristmill.filters.base import filter_class

    saved = {cls: cls.__call__ for cls in {filter_class(n) for n in names}}

    def wrap(orig: Callable) -> Callable:
        def call(self, doc):
            t = time.thread_time()
            try:
                return orig(self, doc)
            finally:
                a = acc.setdefault(self.name, [0.0, 0])
                a[0] += time.thread_time() - t
                a[1] += 1
        return call

    for cls, orig in saved.items():
        cls.__call__ = wrap(orig)
    try:
        yield
    finally:
        for cls, orig in saved.items():
            cls.__call__ = orig


@contextlib.contextmanager
def one_document_at_a_time() -> Iterator[None]:
    """The filter DoFn as it ran before batches: every filter on one document, then the next
    document (``FilterChain.run_batch`` replaced by calls of the chain per document)."""
    from gristmill.filters.chain import FilterChain

    saved = FilterChain.run_batch
    FilterChain.run_batch = lambda self, docs: [self(d) for d in docs]  # type: ignore[method-assign]
    try:
        yield
    finally:
        FilterChain.run_batch = saved  # type: ignore[method-assign]


CLASSIFIER_FILTERS = ("language", "fasttext_spam", "fasttext_toxicity")


def pipeline_share(demo: Path, tmp: Path, paths: dict[str, Path], rounds: int = 2) -> dict:
    """The classifier share of ``run_pipeline`` as it runs now (the filter DoFn runs the chain
    stage by stage over batches of 512 documents) and one document at a time (as before),
    with per-filter CPU µs per input document measured inside the run."""
    from gristmill.pipelines.run import run_pipeline

    cfg = load_config()
    for spec in cfg.filters:  # point the default config at the models used here
        if spec.name == "fasttext":
            spec.params["model"] = str(paths[spec.params["tag"]])
    without = cfg.model_copy(deep=True)
    without.filters = [s for s in cfg.filters if s.name not in CLASSIFIERS]
    # The same filters with `language` moved after the heuristic rules (just before the
    # fasttext filters): the kept set is the same (all are in filter mode), the attribution
    # of rejections differs (a French scene is then rejected by gopher_quality).
    late = cfg.model_copy(deep=True)
    lang = next(s for s in late.filters if s.name == "language")
    late.filters.remove(lang)
    late.filters.insert(next(i for i, s in enumerate(late.filters) if s.name == "fasttext"), lang)
    variants = {"without classifiers": without, "one document at a time": cfg,
                "batches (current)": cfg, "batches, language after the rules": late}
    names = [s.name for s in cfg.filters]
    res: dict = {}
    for i in range(rounds):  # alternate, keep the least disturbed run of each
        for label, c in variants.items():
            acc: dict[str, list[float]] = {}
            with (one_document_at_a_time() if label.startswith("one") else contextlib.nullcontext()), \
                    timed_filters(acc, names):
                t, w = time.process_time(), time.perf_counter()
                out = tmp / f"run{i}-{label.replace(' ', '_').replace(',', '').replace('(', '').replace(')', '')}"
                s = run_pipeline([str(demo / "corpus")], str(out), c, workers=1)
                cpu, wall = time.process_time() - t, time.perf_counter() - w
            if label not in res or cpu < res[label]["cpu_s"]:
                n = s["input_records"]
                res[label] = {"cpu_s": round(cpu, 2), "wall_s": round(wall, 2), "kept": s["kept"],
                              "by_filter": s["by_filter"],
                              "filter_cpu_s": {k: round(v[0], 2) for k, v in acc.items()},
                              "filter_us_per_input_doc": {k: round(v[0] / n * 1e6, 1) for k, v in acc.items()},
                              "docs_reaching": {k: v[1] for k, v in acc.items()}}
    base = res["without classifiers"]["cpu_s"]
    for label in list(variants)[1:]:
        r = res[label]
        clf = sum(v for k, v in r["filter_cpu_s"].items() if k in CLASSIFIER_FILTERS)
        r["chain_cpu_s"] = round(sum(r["filter_cpu_s"].values()), 2)
        r["classifier_cpu_s"] = round(clf, 2)
        r["share_in_pipeline"] = round(clf / r["cpu_s"], 3)
        r["share_by_difference"] = round((r["cpu_s"] - base) / r["cpu_s"], 3)
    # Batches change the order of work, never the results.
    assert res["batches (current)"]["by_filter"] == res["one document at a time"]["by_filter"]
    assert res["batches (current)"]["kept"] == res["one document at a time"]["kept"]
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--demo", default="data/demo", help="demo corpus dir (built when missing)")
    ap.add_argument("--models", default=None,
                    help="dir with toxicity.bin and spam.bin (default: the built-in models)")
    ap.add_argument("--skip-pipeline", action="store_true", help="only the per-filter rates")
    ap.add_argument("--pipeline-only", action="store_true", help="only the pipeline share")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    demo = Path(args.demo)
    if not (demo / "corpus" / "fortunes.jsonl").is_file():
        build_demo(demo)
    with tempfile.TemporaryDirectory(prefix="gristmill-bench-clf-") as t:
        tmp = Path(t)
        paths = models(demo, Path(args.models) if args.models else None, tmp)
        docs = load_docs(demo)
        out: dict = {}
        if args.pipeline_only:
            out["pipeline"] = pipeline_share(demo, tmp, paths)
            print(json.dumps(out["pipeline"], indent=2))
            if args.json:
                Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
            return
        out["long_documents_us"] = long_doc_costs(docs, paths)
        for k, v in out["long_documents_us"].items():
            print(f"{k:56s} {v:>8} µs per document" if k != "documents" else f"({v} literature scenes)")
        out["window_decisions"] = window_decisions(docs, paths)
        for k, v in out["window_decisions"].items():
            print(k, json.dumps(v))
        out["filters"] = filter_rates(docs, paths)
        print(f"docs/s per core on {len(docs)} documents: previous code, current code")
        for k, v in out["filters"].items():
            print(f"{k:46s} {v['docs_per_s_per_core, previous code']:>8,} {v['docs_per_s_per_core, current code']:>8,}")
        if not args.skip_pipeline:
            out["pipeline"] = pipeline_share(demo, tmp, paths)
            print(json.dumps(out["pipeline"], indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
