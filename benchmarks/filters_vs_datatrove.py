"""gristmill's heuristic filters against DataTrove 0.10.1's, on the same real demo documents.

Setup (once; a benchmark-only environment, never a gristmill dependency)::

    python3.11 -m venv .venv-bench
    .venv-bench/bin/pip install 'datatrove[processing]==0.10.1' 'spacy>=3.8,<3.9'
    .venv-bench/bin/pip install -e .
    .venv-bench/bin/python benchmarks/filters_vs_datatrove.py            # ~3 minutes

(DataTrove's English word tokenizer is spaCy's blank ``en`` pipeline, which its
``[processing]`` extra does not install; no model download is needed.)

What it does, in one process pinned to one core (``--core``):

1. Builds the documents: the demo corpus's literature cut at line ends into ~2 KB pieces,
   plus fortunes and SMS messages concatenated (blank line between) into ~2 KB documents,
   normalized as the pipeline does before any filter (``normalize_text``).
2. Runs each rule family (Gopher quality, Gopher repetition, C4, FineWeb) through both
   tools on every document, in alternating blocks so that machine load hits both alike, and
   times them (CPU time of this process and wall time). DataTrove is configured with
   gristmill's pinned thresholds wherever it has the parameter (C4: 5 words per line,
   3 sentences; FineWeb: 0.1 duplicate-line characters, its extra newline rule off), so the
   remaining disagreements come from the definitions, not the numbers.
3. Times both tools' four-family chains (each document stops at its first failing family).
4. Reports keep/drop agreement family by family, and for disagreements which rule fired in
   each tool, so each can be traced to a documented definition difference
   (docs/filters.md); once against DataTrove as shipped (spaCy words and sentences) and once
   against DataTrove handed gristmill's word/sentence definitions (a ``WordTokenizer``
   subclass), which isolates the differences in the rules themselves; and once more with
   DataTrove's knobs (and C4's end-mark constant) set to gristmill's rules where they can
   express them. Results go to stdout and, with ``--json``, to a file.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import tempfile
import time
from pathlib import Path

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

from gristmill.filters import create  # noqa: E402
from gristmill.filters.chain import ChainStep, FilterChain  # noqa: E402
from gristmill.filters.normalize import normalize_text  # noqa: E402
from gristmill.schemas import Document  # noqa: E402

TARGET_CHARS = 2000
FAMILIES = ["gopher_quality", "gopher_repetition", "c4", "fineweb_quality"]


def load_docs(demo: Path, limit: int) -> list[tuple[str, str]]:
    """(id, text) pairs of ~2 KB real documents from the demo corpus, in a fixed order."""

    def rows(name: str):
        with open(demo / "corpus" / f"{name}.jsonl", encoding="utf-8") as f:
            for line in f:
                yield json.loads(line)

    docs: list[tuple[str, str]] = []
    for r in rows("literature"):
        text, start, k = r["text"], 0, 0
        while start < len(text):
            end = text.find("\n", start + TARGET_CHARS)
            end = len(text) if end < 0 else end
            piece = text[start:end].strip()
            if piece:
                docs.append((f"{r['id']}#{k}", piece))
            start, k = end + 1, k + 1
    for name in ("fortunes", "sms_spam"):
        buf: list[str] = []
        size = k = 0
        for r in rows(name):
            buf.append(r["text"].strip())
            size += len(buf[-1]) + 2
            if size >= TARGET_CHARS:
                docs.append((f"{name}:{k}", "\n\n".join(buf)))
                buf, size, k = [], 0, k + 1
    if len(docs) > limit:  # an evenly spaced subset keeps every source in proportion
        step = len(docs) / limit
        docs = [docs[int(i * step)] for i in range(limit)]
    # Both tools see the text as gristmill's filters do in a pipeline: normalized (NFC,
    # newlines unified, controls and trailing spaces removed).
    return [(i, normalize_text(t)) for i, t in docs]


def datatrove_filters(words_like_gristmill: bool = False, rules_like_gristmill: bool = False) -> dict:
    """DataTrove's four filters with gristmill's pinned thresholds where it has the knob.

    ``words_like_gristmill``: hand DataTrove a word tokenizer that uses gristmill's word and
    sentence definitions (``text_units``) instead of spaCy's, so that the agreement left is
    due to the rules themselves, not to what a word is.
    """
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )
    from datatrove.utils.word_tokenizers import WordTokenizer, simple_span_tokenize

    from gristmill.filters.text_units import sentences

    class GristmillUnits(WordTokenizer):
        def word_tokenize(self, text: str) -> list[str]:
            return text.split()

        def sent_tokenize(self, text: str) -> list[str]:
            return sentences(text)

        def span_tokenize(self, text: str) -> list[tuple[int, int]]:
            return list(simple_span_tokenize(text, sentences(text) or [text]))

    lang = {"language": GristmillUnits()} if words_like_gristmill else {}
    fineweb_knobs: dict = {}
    if rules_like_gristmill:
        # What DataTrove's knobs can express of gristmill's FineWeb definitions: its
        # terminal marks, optionally followed by one closing quote/bracket; "< 30" characters;
        # the paper's inclusive thresholds (DataTrove compares strictly). Indentation still
        # counts in DataTrove's line length.
        from gristmill.filters.fineweb import CLOSERS, TERMINAL

        eps = 1e-9
        fineweb_knobs = {
            "stop_chars": tuple(t + c for t in TERMINAL for c in ("", *CLOSERS)),
            "short_line_length": 29,
            "line_punct_thr": 0.12 + eps,
            "short_line_thr": 0.67 - eps,
        }
    return {
        "gopher_quality": GopherQualityFilter(**lang),
        "gopher_repetition": GopherRepetitionFilter(**lang),
        # gristmill's (the C4 reference's) numbers; DataTrove's defaults are 3 and 5.
        "c4": C4QualityFilter(min_words_per_line=5, min_num_sentences=3, **lang),
        # the paper's 0.1 (DataTrove: 0.01); DataTrove's extra newline/word rule switched off
        "fineweb_quality": FineWebQualityFilter(
            char_duplicates_ratio=0.1 - 1e-9 if rules_like_gristmill else 0.1,
            new_line_ratio=1e9,
            **fineweb_knobs,
            **lang,
        ),
    }


def single_top_ngram(text: str, n: int, spacy_words: bool) -> bool:
    """True when DataTrove's "top n-gram" of ``text`` occurs only once (spaCy's words, or
    gristmill's)."""
    from datatrove.pipeline.filters.gopher_repetition_filter import get_n_grams
    from datatrove.utils.text import split_into_words

    words = split_into_words(text, "en") if spacy_words else text.split()
    grams = get_n_grams(words, n)
    return bool(grams) and collections.Counter(grams).most_common(1)[0][1] == 1


def dt_decide(f, doc_id: str, text: str) -> str | None:
    """DataTrove's verdict as a reason string, None when kept."""
    from datatrove.data import Document as DTDocument

    r = f.filter(DTDocument(text=text, id=doc_id))
    if r is True:
        return None
    if isinstance(r, tuple):
        return r[1] if not r[0] else None
    return None if r else "dropped"


def gm_decide(f, doc_id: str, text: str) -> str | None:
    v = f(Document(id=doc_id, text=text))
    return None if v.keep else v.reason


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--demo", type=Path, default=Path("/tmp/demo"), help="demo corpus dir (built if missing)")
    ap.add_argument("--limit", type=int, default=6000, help="number of documents (>= 5000 for the report)")
    ap.add_argument("--block", type=int, default=250, help="documents per alternating timing block")
    ap.add_argument("--core", type=int, default=None, help="CPU core to pin to (default: the first allowed)")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args(argv)

    core = args.core if args.core is not None else min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    demo = args.demo
    if not (demo / "corpus" / "literature.jsonl").exists():
        from gristmill.data.demo import build_demo

        demo = Path(tempfile.mkdtemp(prefix="gristmill-demo-"))
        build_demo(demo)
    docs = load_docs(demo, args.limit)
    n = len(docs)
    mean_len = sum(len(t) for _, t in docs) / n
    print(f"{n} documents, mean {mean_len:.0f} characters, pinned to core {core}", flush=True)

    import datatrove

    dt = datatrove_filters()
    gm = {name: create(name) for name in FAMILIES}
    # warm up both (spaCy loads lazily; gristmill builds its mark table on first non-ASCII)
    for name in FAMILIES:
        for i, t in docs[:20]:
            dt_decide(dt[name], i, t)
            gm_decide(gm[name], i, t)

    dt_aligned = datatrove_filters(words_like_gristmill=True)
    dt_tuned = datatrove_filters(words_like_gristmill=True, rules_like_gristmill=True)
    decisions = {name: {"dt": [], "gm": [], "dt_aligned": [], "dt_tuned": []} for name in FAMILIES}
    cpu = collections.defaultdict(float)
    wall = collections.defaultdict(float)
    for b in range(0, n, args.block):
        block = docs[b : b + args.block]
        for name in FAMILIES:
            for tool, f, decide in (("dt", dt[name], dt_decide), ("gm", gm[name], gm_decide)):
                c0, w0 = time.process_time(), time.perf_counter()
                out = [decide(f, i, t) for i, t in block]
                cpu[(tool, name)] += time.process_time() - c0
                wall[(tool, name)] += time.perf_counter() - w0
                decisions[name][tool].extend(out)
            decisions[name]["dt_aligned"].extend(dt_decide(dt_aligned[name], i, t) for i, t in block)
            if name != "c4":  # C4's end marks are a module constant: patched below
                decisions[name]["dt_tuned"].extend(dt_decide(dt_tuned[name], i, t) for i, t in block)
        print(f"  families: {min(b + args.block, n)}/{n}", end="\r", file=sys.stderr, flush=True)
    print(file=sys.stderr)

    # the chains, same order as FineWeb's recipe: repetition, quality, C4, FineWeb
    order = ["gopher_repetition", "gopher_quality", "c4", "fineweb_quality"]
    gm_chain = FilterChain([ChainStep(create(name)) for name in order])

    def dt_chain(i: str, t: str) -> None:
        from datatrove.data import Document as DTDocument

        d = DTDocument(text=t, id=i)
        for name in order:
            r = dt[name].filter(d)
            if r is not True and (not isinstance(r, tuple) or not r[0]) and r is not None:
                return

    for b in range(0, n, args.block):
        block = docs[b : b + args.block]
        c0, w0 = time.process_time(), time.perf_counter()
        for i, t in block:
            dt_chain(i, t)
        cpu[("dt", "chain")] += time.process_time() - c0
        wall[("dt", "chain")] += time.perf_counter() - w0
        c0, w0 = time.process_time(), time.perf_counter()
        for i, t in block:
            gm_chain(Document(id=i, text=t))
        cpu[("gm", "chain")] += time.process_time() - c0
        wall[("gm", "chain")] += time.perf_counter() - w0
        print(f"  chains: {min(b + args.block, n)}/{n}", end="\r", file=sys.stderr, flush=True)
    print(file=sys.stderr)

    # DataTrove's C4 end marks with the reference's (no "'"), for the "same rules" comparison
    from datatrove.pipeline.filters import c4_filters

    shipped_marks = c4_filters.END_PUNCTUATION
    c4_filters.END_PUNCTUATION = (".", "?", "!", '"')
    try:
        decisions["c4"]["dt_tuned"] = [dt_decide(dt_tuned["c4"], i, t) for i, t in docs]
    finally:
        c4_filters.END_PUNCTUATION = shipped_marks

    results: dict = {
        "documents": n,
        "mean_chars": round(mean_len),
        "datatrove_version": datatrove.__version__ if hasattr(datatrove, "__version__") else "0.10.1",
        "throughput": {},
        "agreement": {},
        "agreement_aligned_words": {},
        "agreement_aligned_rules": {},
    }
    print(f"\n{'stage':20s} {'DataTrove docs/s':>17s} {'gristmill docs/s':>17s} {'ratio':>7s}   (CPU time; wall in JSON)")
    for name in [*FAMILIES, "chain"]:
        d_rate, g_rate = n / cpu[("dt", name)], n / cpu[("gm", name)]
        results["throughput"][name] = {
            "datatrove_docs_per_s": round(d_rate, 1),
            "gristmill_docs_per_s": round(g_rate, 1),
            "ratio": round(g_rate / d_rate, 2),
            "datatrove_wall_docs_per_s": round(n / wall[("dt", name)], 1),
            "gristmill_wall_docs_per_s": round(n / wall[("gm", name)], 1),
        }
        print(f"{name:20s} {d_rate:17.1f} {g_rate:17.1f} {g_rate / d_rate:6.1f}x")

    variants = (
        ("dt", "DataTrove (its spaCy words)", "agreement"),
        ("dt_aligned", "DataTrove given gristmill's words and sentences", "agreement_aligned_words"),
        (
            "dt_tuned",
            "DataTrove given gristmill's units and, where its knobs allow, rules",
            "agreement_aligned_rules",
        ),
    )
    for variant, label, key in variants:
        print(f"\nAgreement with {label}")
        print(f"{'family':20s} {'agree':>7s} {'both drop':>9s} {'both keep':>9s} {'only DT drops':>13s} {'only gm drops':>13s}")
        for name in FAMILIES:
            d, g = decisions[name][variant], decisions[name]["gm"]
            pairs = list(zip(d, g, strict=True))
            both_drop = sum(1 for a, b in pairs if a and b)
            both_keep = sum(1 for a, b in pairs if not a and not b)
            only_dt = collections.Counter(a for a, b in pairs if a and not b)
            only_gm = collections.Counter(b for a, b in pairs if b and not a)
            agree = (both_drop + both_keep) / n
            entry = {
                "agree_frac": round(agree, 4),
                "both_drop": both_drop,
                "both_keep": both_keep,
                "only_datatrove_drops": dict(only_dt.most_common()),
                "only_gristmill_drops": dict(only_gm.most_common()),
                "datatrove_drops": dict(collections.Counter(x for x in d if x).most_common()),
                "gristmill_drops": dict(collections.Counter(x for x in g if x).most_common()),
            }
            if name == "gopher_repetition":
                # DataTrove's top n-gram need not repeat: how many of its top_n drops are that?
                single = sum(
                    1
                    for (i, t), (a, b) in zip(docs, pairs, strict=True)
                    if a
                    and not b
                    and a.startswith("top_")
                    and single_top_ngram(t, int(a[4]), variant == "dt")
                )
                entry["only_datatrove_top_ngram_occurring_once"] = single
            results[key][name] = entry
            print(
                f"{name:20s} {agree:7.2%} {both_drop:9d} {both_keep:9d} "
                f"{sum(only_dt.values()):13d} {sum(only_gm.values()):13d}"
            )
            print(f"    only DataTrove drops, by its reason: {dict(only_dt.most_common())}")
            print(f"    only gristmill drops, by its reason: {dict(only_gm.most_common())}")
            if "only_datatrove_top_ngram_occurring_once" in entry:
                print(f"    of DataTrove's top-n-gram drops, its top n-gram occurs once: {entry['only_datatrove_top_ngram_occurring_once']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
