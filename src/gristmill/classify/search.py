"""The transfer recipe's search: hyper-parameters and cleaning chosen on out-of-group data.

fastText's defaults, and even a grid tuned on a random validation split, pick what fits the
training collection: many epochs that memorise its vocabulary, word n-grams that match its
templates. What transfers is chosen on *other* groups (``groupsplit``: the validation groups),
so the search scores every trial there, by the positive label's F1 at the threshold best for
that trial (the threshold is part of the recipe, and is chosen on the same groups).

Each trial's prediction cost is timed against the defaults' (in turns) and a trial over
``max_cost`` times it is not chosen (``search``): the recipe must stay within the pipeline's
classifier budget. The rule behind the default (1.25): all classifiers of the recommended
pipeline together must take < 10% of its CPU (issue 19). They take 9.4-9.9% of it on the demo
corpus (``language`` two thirds; benchmarks/RESULTS.md, "classifiers" and "classifier
transfer"), and one fastText model with the defaults, in the toxicity slot, 1.1-1.4%. A trained
model takes such a slot, so it may cost its slot plus what is left under 10%:
``1 + (10% - 9.7%) / 1.26% = 1.25`` times the defaults. An ensemble of K models costs about K
slots (K predictions, one shared preprocessing: three models in the toxicity slot took the
classifiers from 9.6% to 12.5%), so no K >= 2 fits and the recipe has no ensemble.

How a trial is chosen (``select``, ``choose``): by its F1 on the validation groups alone
(``valid``), or by grouped cross-validation (``cv``): the mean F1 over several out-of-group
folds, the validation groups (the model trained on every training group) and up to ``folds``
blocks of whole training groups, each held out from a model trained on the other training
groups. The best of a dozen trials on one validation week of ~800 texts is partly the luck
of that week (benchmarks/RESULTS.md, "classifier transfer": the choice won on the validation
week in every run and lost on the next); the folds score each trial on every training group
too. Measured,
cv picks no better than ``valid`` (benchmarks/RESULTS.md, third round), so it is an option,
not the default. ``cv-1se`` keeps a default trial unless the best beats it by more than one standard
error over the folds. The final model is the chosen trial trained on all training groups,
with its threshold chosen on the validation groups, whatever ``select`` says. With fewer
than two training groups there are no training folds and ``cv`` is ``valid``.

Whatever the rule, the winner's prediction cost is then timed a second time, on up to 2,000
validation texts (``_confirm_cost``), and it gives way to the next choice when over the limit:
out of a dozen draws the winner near the limit tends to be one timed low by luck. (With the
whole-run timings ``cost_ratio`` used before, winners timed x1.22-1.24 cost x1.38-1.57;
benchmarks/RESULTS.md, "classifier transfer", fourth round.)

The trials are a fixed, seeded sequence: the plain defaults with and without cleaning first,
the same with character 4-grams at dimension 10 (``CHEAP_CHAR``), then random draws from
``SPACE`` (epochs, learning rate, word n-grams, character n-grams, dimension, loss) each with
or without cleaning. The search stops after ``trials`` trials or
when ``budget_s`` seconds have passed (checked between trials, so one trial may overrun it;
at least two trials always run). With ``cv``/``cv-1se`` an eligible trial costs one training
per fold more (4 blocks: 5 trainings), so a clock budget runs fewer trials; a trial over the
cost limit skips its folds and does not count towards ``trials`` (the search draws on, up to
4x ``trials``), so the choice is among ``trials`` eligible trials (with ``valid``, ineligible
trials count, as before). With one thread, a search that stops by trial count gives
the same model on every run unless a trial that would win lies within the timing's noise
(a few hundredths) of the cost limit: eligibility is measured, not computed. One stopped by
the clock depends on machine speed, and the metrics JSON says which happened.

Why not fastText's autotune: it only ever tunes hyper-parameters (not the cleaning), its
budget is always a clock, so it is never reproducible, and on small validation sets it spends
most of its time on ``dim`` and ``bucket``, which matter least for transfer.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gristmill.classify.config import SELECT_RULES, ClassifierConfig
from gristmill.classify.data import Example
from gristmill.classify.groupsplit import group_folds
from gristmill.classify.metrics import best_f1_threshold
from gristmill.classify.model import LABEL_PREFIX, predict_probs
from gristmill.classify.preprocess import CLEAN_OPTIONS, PREPROCESSORS, preprocess_name

log = logging.getLogger("gristmill.classify")

SPACE: dict[str, tuple] = {
    "epoch": (5, 10, 20, 30),
    "lr": (0.1, 0.25, 0.5, 1.0),
    "wordNgrams": (1, 2),
    "char": ((0, 0), (4, 4), (3, 6)),  # (minn, maxn); (0, 0) = no character n-grams
    "dim": (10, 25, 50),  # prediction cost grows with it; little to gain above 50 for 2 labels
    "loss": ("softmax", "ova"),
}
ALL_CLEAN = tuple(CLEAN_OPTIONS)
# The defaults with character 4-grams at the smallest dimension: tried right after the
# defaults, before the random draws. Character n-grams are what transfers best (misspellings,
# masked words, inflections a word vocabulary misses: on the insults benchmark's validation
# week, trials with 4-grams scored 0.707 mean F1 against 0.679 without), but they multiply the
# vectors summed per word: at dimension 25-50, or as 3-6-grams, they cost 1.1-2.0x the
# defaults, often over the budget; at dimension 10 (where F1 hardly moves) 4-grams cost about
# what the defaults cost (x0.93-1.06, benchmarks/RESULTS.md "classifier transfer", fourth
# round). Random draws land there once in 9, so the recipe tries it by name.
CHEAP_CHAR = {"minn": 4, "maxn": 4, "dim": 10}


@dataclass(frozen=True)
class Trial:
    """One point of the search: fastText parameters and the cleaning options."""

    epoch: int
    lr: float
    wordNgrams: int  # noqa: N815 (fastText's own name)
    minn: int
    maxn: int
    dim: int
    loss: str
    clean: tuple[str, ...] = ()

    def fasttext_args(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "clean"}


@dataclass
class SearchResult:
    model: Any  # the chosen trial's fastText model
    best: Trial
    threshold: float
    valid_f1: float
    trials: list[dict] = field(default_factory=list)  # every trial: parameters, F1, seconds
    best_index: int = 0  # of the chosen trial in ``trials``
    stopped_by: str = "trials"  # trials | time
    seconds: float = 0.0
    select: str = "valid"  # how the trial was chosen (``choose``)
    fold_groups: list[list[str]] = field(default_factory=list)  # the training groups held out, per fold


def trial_sequence(cfg: ClassifierConfig, n: int, seed: int = 0, clean: tuple[str, ...] | None = None) -> list[Trial]:
    """The first ``n`` trials: the defaults of ``cfg`` (without, then with, cleaning), the
    same with ``CHEAP_CHAR`` (character 4-grams at dimension 10), then seeded random draws
    from ``SPACE``. ``clean`` fixes the cleaning instead of trying both."""
    cleans = [clean] if clean is not None else [(), ALL_CLEAN]
    base = Trial(cfg.epoch, cfg.lr, cfg.word_ngrams, cfg.minn, cfg.maxn, cfg.dim, cfg.loss)
    out = [Trial(**{**asdict(base), "clean": c}) for c in cleans]
    out += [t for t in (Trial(**{**asdict(base), **CHEAP_CHAR, "clean": c}) for c in cleans) if t not in out]
    rng = np.random.default_rng(seed)
    seen = set(out)
    while len(out) < n and len(seen) < 10_000:
        pick = {k: v[int(rng.integers(len(v)))] for k, v in SPACE.items()}
        minn, maxn = pick.pop("char")
        t = Trial(**pick, minn=minn, maxn=maxn, clean=cleans[int(rng.integers(len(cleans)))])
        if t not in seen:
            seen.add(t)
            out.append(t)
    return out[:n]


def search(
    train: list[Example],
    valid: list[Example],
    positive: str,
    cfg: ClassifierConfig,
    trials: int = 16,
    budget_s: float = 120.0,
    clean: tuple[str, ...] | None = None,
    seed: int = 0,
    max_cost: float | None = 1.25,
    select: str = "valid",
    folds: int = 4,
) -> SearchResult:
    """Run the trials (see the module docstring); the model of the chosen one is returned.

    ``max_cost``: a trial is eligible only if its prediction (cleaning, tokenizing and
    fastText's predict, per document, measured on the validation texts) costs at most this
    multiple of the first trial's (the defaults): the filter runs on every document of a
    corpus, so a recipe must stay within the pipeline's classifier budget. Measured times
    vary with the machine's load, so a trial near the limit may be in on one run and out on
    another; each trial's ratio is in the log. None: no limit.

    ``select`` (``choose``): ``valid`` scores each trial on the validation examples alone;
    ``cv`` and ``cv-1se`` also on up to ``folds`` blocks of whole training groups
    (``groupsplit.group_folds``), each trial then costing one training more per block."""
    if select not in SELECT_RULES:
        raise ValueError(f"select must be one of {', '.join(SELECT_RULES)}, got {select!r}")
    fold_sets = [] if select == "valid" else _usable_folds(train, positive, folds)
    t0 = time.perf_counter()
    ref: tuple[Any, Any] | None = None  # the first trial's model and preprocessing
    kept: dict[int, tuple[Any, Trial, float]] = {}  # models that may still be chosen
    log_rows: list[dict] = []
    stopped = "trials"
    with tempfile.TemporaryDirectory(prefix="gristmill-search-") as tmp:
        files: dict[tuple[int, tuple[str, ...]], Path] = {}  # (fold or -1, cleaning) -> training file
        # with folds (cv), a trial over the cost limit is not scored on them and does not count:
        # the search goes on drawing (up to 4x ``trials``) until ``trials`` eligible ones are scored
        counted = 0
        draws = trials if select == "valid" else 4 * trials
        for i, t in enumerate(trial_sequence(cfg, draws, seed, clean)):
            if counted >= trials:
                break
            if i >= 2 and time.perf_counter() - t0 > budget_s:
                stopped = "time"
                break
            ts = time.perf_counter()
            model = _train(files, tmp, -1, train, t, cfg)
            prep = PREPROCESSORS[preprocess_name(t.clean)]
            ref = ref or (model, prep)
            ratio = cost_ratio(model, prep, *ref, [e.text for e in valid]) if i else 1.0
            eligible = max_cost is None or ratio <= max_cost
            counted += 1 if eligible or select == "valid" else 0
            thr, f1 = _score(model, valid, positive, prep)
            row = {**asdict(t), "clean": list(t.clean), "valid_f1": round(f1, 4), "threshold": thr,
                   "cost_ratio": round(ratio, 2), "eligible": eligible,
                   "default": i < (1 if clean is not None else 2)}
            if fold_sets and eligible:
                row.update(_cv_scores(f1, [_score(_train(files, tmp, k, tr, t, cfg), held, positive, prep)[1]
                                           for k, (tr, held) in enumerate(fold_sets)]))
            row["seconds"] = round(time.perf_counter() - ts, 2)
            log_rows.append(row)
            log.info("search trial %d: %s valid F1 %.3f%s, prediction cost x%.2f%s", i + 1, _short(t), f1,
                     f", cv F1 {row['cv_f1']:.3f}" if "cv_f1" in row else "", ratio,
                     "" if eligible else " (over the limit)")
            kept[i] = (model, t, thr)
            candidates = {j for j, r in enumerate(log_rows) if r["default"]} | {_best(log_rows, select)}
            kept = {j: v for j, v in kept.items() if j in candidates}
        if max_cost is not None and ref is not None:
            _confirm_cost(log_rows, kept, select, max_cost, ref, [e.text for e in valid],
                          lambda t: _train(files, tmp, -1, train, t, cfg))
    index = choose(log_rows, select)
    model, trial, thr = kept[index]
    return SearchResult(model, trial, thr, log_rows[index]["valid_f1"], log_rows, index, stopped,
                        time.perf_counter() - t0, select, [sorted({e.group for e in h}) for _, h in fold_sets])


def choose(rows: list[dict], select: str) -> int:
    """The chosen trial's index among the search's log rows.

    - ``valid``: the eligible trial of best F1 on the validation groups;
    - ``cv``: the eligible trial of best mean F1 over the folds (the validation groups and each
      block of training groups; each fold at its own best threshold);
    - ``cv-1se``: as ``cv``, but a default trial (the plain defaults, with or without cleaning)
      is kept unless the best trial's mean beats it by more than one standard error of that
      mean over the folds: a difference the folds cannot tell from noise does not move the
      recipe off the defaults. With one fold (no training folds) this is ``cv``.
    Without fold scores (no usable training folds) ``cv`` and ``cv-1se`` are ``valid``."""
    best = _best(rows, select)
    if select != "cv-1se" or "cv_se" not in rows[best]:
        return best
    bar = rows[best]["cv_f1"] - rows[best]["cv_se"]
    near = [j for j, r in enumerate(rows) if r["default"] and r["eligible"] and r["cv_f1"] >= bar]
    return max(near, key=lambda j: (rows[j]["cv_f1"], -j)) if near else best


def _best(rows: list[dict], select: str) -> int:
    key = "valid_f1" if select == "valid" or "cv_f1" not in rows[0] else "cv_f1"
    eligible = [j for j, r in enumerate(rows) if r["eligible"]] or [0]  # the first trial is always eligible
    return max(eligible, key=lambda j: (rows[j][key], -j))  # the earlier trial on a tie


def _confirm_cost(rows: list[dict], kept: dict, select: str, max_cost: float, ref: tuple[Any, Any],
                  texts: list[str], retrain: Any) -> None:
    """Measure the chosen trial's prediction cost again, on up to 2,000 validation texts (the
    first timing used 400), and take the next choice while it is over ``max_cost`` (marked
    ``eligible: False``, with its ``cost_confirmed``). Why: every timing has some noise, and a
    search that draws many trials picks, near the limit, those timed low by luck
    (benchmarks/RESULTS.md, "classifier transfer"); a second, independent timing of the
    winner does not share that luck.
    A model that is no longer kept is trained again (the same seed: the same model on one
    thread)."""
    while (index := choose(rows, select)) != 0:
        row = rows[index]
        if index not in kept:
            t = Trial(**{f: tuple(row[f]) if f == "clean" else row[f] for f in Trial.__dataclass_fields__})
            kept[index] = (retrain(t), t, row["threshold"])
        model, t, _ = kept[index]
        again = cost_ratio(model, PREPROCESSORS[preprocess_name(t.clean)], *ref, texts, limit=2000)
        row["cost_confirmed"] = round(again, 2)
        if again <= max_cost:
            return
        row["eligible"] = False
        log.info("search: trial %d costs x%.2f on a second timing, over the limit; the next is chosen",
                 index + 1, again)


def _cv_scores(valid_f1: float, fold_f1: list[float]) -> dict:
    """The log's fold scores: each training fold's F1, and the mean and its standard error
    over all folds, the validation groups being one more fold."""
    scores = [valid_f1, *fold_f1]
    return {"fold_f1": [round(x, 4) for x in fold_f1], "cv_f1": round(float(np.mean(scores)), 4),
            "cv_se": round(float(np.std(scores, ddof=1) / np.sqrt(len(scores))), 4)}


def _usable_folds(train: list[Example], positive: str, blocks: int) -> list[tuple[list[Example], list[Example]]]:
    """The training-group folds in which both sides hold both labels (an F1 needs positives
    held out; a model needs both labels to learn from)."""
    def two_labels(part: list[Example]) -> bool:
        return len({e.label for e in part}) >= 2 and any(e.label == positive for e in part)

    return [(tr, held) for tr, held in group_folds(train, blocks) if two_labels(tr) and two_labels(held)]


def _train(files: dict, tmp: str, fold: int, examples: list[Example], t: Trial, cfg: ClassifierConfig) -> Any:
    """fastText on ``examples`` with trial ``t`` (the training file cached per fold and cleaning)."""
    import fasttext

    key = (fold, t.clean)
    if key not in files:
        files[key] = _write(Path(tmp) / f"train{len(files)}.txt", examples, t.clean)
    return fasttext.train_supervised(input=str(files[key]), thread=cfg.threads, seed=cfg.seed, verbose=0,
                                     minCount=cfg.min_count, bucket=cfg.bucket, **t.fasttext_args())


def _score(model: Any, examples: list[Example], positive: str, prep: Any) -> tuple[float, float]:
    """(threshold, F1) of the positive label on ``examples`` at the model's best threshold there."""
    labels, p = predict_probs(model, [e.text for e in examples], prep)
    return best_f1_threshold(np.array([e.label == positive for e in examples]), p[:, labels.index(positive)])


def cost_ratio(model: Any, prep: Any, ref_model: Any, ref_prep: Any, texts: list[str],
               limit: int = 400, chunk: int = 50, rounds: int = 3) -> float:
    """Prediction cost of ``model`` over ``ref_model``'s: the first ``limit`` texts in chunks
    of ``chunk``, each chunk run once by each untimed and then timed reference, candidate,
    candidate, reference, ``rounds`` times over; the median of the per-chunk ratios.

    Why paired chunks: on a shared (virtual) machine the CPU time of the same work drifts by
    up to 2x within seconds, so two timings a second apart compare different machines;
    timings back to back over 50 texts (milliseconds) see one speed, and the median drops
    the chunks a hiccup hit. Why the untimed runs: the first run over a chunk finds nothing
    in the caches, and whichever came second looked cheaper (a model against itself, timed
    reference then candidate: x0.84-0.95). Measured on four model pairs, six times each:
    spread 0.04-0.06 of the ratio, against 0.13-0.45 for the best-of-5 timings of whole runs
    this replaces (benchmarks/RESULTS.md, "classifier transfer", fourth round)."""
    import statistics

    sample = texts[:limit] or [""]
    ratios = []
    for _ in range(rounds):
        for i in range(0, len(sample), chunk):
            part = sample[i:i + chunk]
            # both once untimed (texts and model rows into the caches), then reference,
            # candidate, candidate, reference: a steady drift in speed cancels
            _cpu_seconds(ref_model, ref_prep, part)
            _cpu_seconds(model, prep, part)
            ref = _cpu_seconds(ref_model, ref_prep, part)
            cand = _cpu_seconds(model, prep, part) + _cpu_seconds(model, prep, part)
            ref += _cpu_seconds(ref_model, ref_prep, part)
            ratios.append(cand / max(ref, 1e-9))
    return statistics.median(ratios)


def _cpu_seconds(model: Any, prep: Any, texts: list[str]) -> float:
    """CPU seconds of this thread for the filter's per-document path over ``texts``."""
    from gristmill.classify.model import label_probs

    t0 = time.thread_time()
    for t in texts:
        label_probs(model, prep(t))
    return time.thread_time() - t0


def prediction_cost(model: Any, prep: Any, texts: list[str], limit: int = 400, repeat: int = 5) -> float:
    """CPU seconds per document of the filter's per-document path (``prep`` then fastText's
    predict) on the first ``limit`` texts, best of ``repeat`` runs. CPU time of this thread,
    not wall time: other processes on a busy machine then disturb it far less."""
    sample = texts[:limit] or [""]
    best = min(_cpu_seconds(model, prep, sample) for _ in range(repeat))
    return max(best, 1e-9) / len(sample)


def _write(path: Path, examples: list[Example], clean: tuple[str, ...]) -> Path:
    prep = PREPROCESSORS[preprocess_name(clean)]
    with open(path, "w", encoding="utf-8") as f:
        for e in examples:
            f.write(f"{LABEL_PREFIX}{e.label} {prep(e.text)}\n")
    return path


def _short(t: Trial) -> str:
    return (f"epoch={t.epoch} lr={t.lr} wordNgrams={t.wordNgrams} minn={t.minn} maxn={t.maxn} "
            f"dim={t.dim} loss={t.loss} clean={'+'.join(t.clean) or 'none'}")
