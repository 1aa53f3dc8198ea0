"""``gristmill classifier train|eval``: fastText classifiers as one workflow."""

from __future__ import annotations

import argparse
import json

from gristmill.classify.config import SELECT_RULES, ClassifierConfig, GroupConfig, RecipeConfig
from gristmill.cli.parser import old_name, positive_int
from gristmill.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("classifier", help="train and evaluate fastText classifiers (toxicity, spam, ...)",
                       description="Train and evaluate fastText classifiers for the `fasttext` filter.")
    csub = p.add_subparsers(dest="classifier_command", metavar="ACTION", required=True)

    t = csub.add_parser(
        "train", help="train a classifier on a leak-free split; writes model, metrics JSON, card",
        description="Group near-duplicates, split train/valid/test by group, train fastText, pick the "
                    "decision threshold on the validation split, and write MODEL.bin with "
                    "MODEL.metrics.json and MODEL.card.md beside it.")
    _data_args(t)
    t.add_argument("--output", required=True, metavar="MODEL",
                   help="model path, e.g. models/toxicity.bin")
    old_name(t, "--out", "output")
    t.add_argument("--positive", help="the label to detect (default: the rarer of two labels)")
    t.add_argument("--name", help="model name for the card (default: the file stem)")
    t.add_argument("--description", default="",
                   help="what the labels mean, for the model card; @FILE reads it from FILE")
    d = ClassifierConfig()
    t.add_argument("--epoch", type=positive_int, default=d.epoch, help=f"passes over the data (default {d.epoch})")
    t.add_argument("--lr", type=float, default=d.lr, help=f"learning rate (default {d.lr})")
    t.add_argument("--dim", type=positive_int, default=d.dim, help=f"vector size (default {d.dim})")
    t.add_argument("--word-ngrams", type=positive_int, default=d.word_ngrams,
                   help=f"word n-gram length; 1 = no bigrams (default {d.word_ngrams})")
    t.add_argument("--minn", type=int, default=d.minn, help="min character n-gram (0 = off)")
    t.add_argument("--maxn", type=int, default=d.maxn, help="max character n-gram (0 = off)")
    t.add_argument("--bucket", type=int, default=d.bucket, help=f"hashed n-gram rows (default {d.bucket})")
    t.add_argument("--seed", type=int, default=d.seed, help=f"training seed (default {d.seed})")
    t.add_argument("--threads", type=positive_int, default=d.threads,
                   help="training threads; 1 (default) makes training reproducible")
    t.add_argument("--autotune", action="store_true",
                   help="search hyperparameters against the validation split (not reproducible)")
    t.add_argument("--autotune-duration", type=positive_int, default=d.autotune_duration,
                   help=f"autotune budget in seconds (default {d.autotune_duration})")
    t.add_argument("--quantize", action="store_true", help="also write a quantized MODEL.ftz")
    t.add_argument("--valid-fraction", type=float, default=d.valid_fraction, help="validation share")
    t.add_argument("--test-fraction", type=float, default=d.test_fraction, help="test share")
    t.add_argument("--split-seed", type=int, default=d.split_seed, help="seed of the group split")
    t.add_argument("--dedup-threshold", type=float, default=d.dedup_threshold,
                   help="word 3-gram Jaccard at which two texts are one near-duplicate group")
    t.add_argument("--conflicts", choices=("majority", "drop"), default=d.conflicts,
                   help="a group with mixed labels: majority label for all (ties dropped), or drop it")
    g = t.add_argument_group("out of group (docs/classifiers.md, \"Transfer\")")
    g.add_argument("--group-by", metavar="FIELD",
                   help="JSONL field naming each record's group (source, domain, date bucket): whole groups "
                        "are held out, validation and test are other groups than training, and the card "
                        "shows in-group and out-of-group metrics side by side")
    g.add_argument("--valid-groups", metavar="G1,G2", type=_names,
                   help="the validation groups (default: drawn at random, seeded by --split-seed)")
    g.add_argument("--test-groups", metavar="G1,G2", type=_names,
                   help="the test groups (default: drawn at random, seeded by --split-seed)")
    r = RecipeConfig()
    g.add_argument("--recipe", choices=("plain", "transfer"),
                   help="transfer: choose hyper-parameters and cleaning by a search on the validation "
                        "groups; plain: the parameters above (default: transfer with --group-by, else plain)")
    g.add_argument("--clean", metavar="OPTS",
                   help="cleaning before tokenizing, comma-separated: headers, quotes, html, urls, emails, "
                        "mentions, numbers, all or none (default: none for plain; the transfer recipe "
                        "tries none and all)")
    g.add_argument("--search-trials", type=positive_int, default=r.search_trials,
                   help=f"transfer recipe: trials at most (default {r.search_trials})")
    g.add_argument("--search-budget", type=float, default=r.search_budget_s, metavar="SECONDS",
                   help=f"transfer recipe: stop starting trials after this time (default {r.search_budget_s:g})")
    g.add_argument("--select", choices=SELECT_RULES, default=r.select,
                   help="transfer recipe: choose the trial by its F1 on the validation groups (valid), or "
                        "averaged with folds of held-out training groups (cv; cv-1se keeps the defaults "
                        f"unless beaten by more than a standard error) (default {r.select})")
    g.add_argument("--search-folds", type=positive_int, default=r.folds, metavar="K",
                   help=f"transfer recipe with --select cv: blocks of training groups held out (default {r.folds})")
    g.add_argument("--max-cost", type=float, default=r.max_cost, metavar="RATIO",
                   help="transfer recipe: choose only trials whose prediction costs at most RATIO times "
                        f"the defaults' (default {r.max_cost:g}; 0 = no limit)")
    t.set_defaults(func=_train)

    e = csub.add_parser(
        "eval", help="print a model's metrics JSON on labelled data",
        description="Score MODEL on labelled data and print metrics JSON (precision, recall, f1, "
                    "roc_auc, pr_auc for the positive label, per-label metrics, confusion matrix).")
    e.add_argument("--model", required=True, help="a fastText .bin or .ftz")
    _data_args(e, required=False)
    e.add_argument("--test", action="append", default=[], metavar="NAME=FILE",
                   help="a named test set (repeatable; FILE may be a comma-separated list): each is "
                        "scored on its own and the JSON keeps them under \"sets\"")
    e.add_argument("--unlabeled", action="append", default=[], metavar="NAME=FILE",
                   help="a named set scored without labels (repeatable; labels in FILE are ignored): "
                        "its share of positives is estimated from the share the model flags, and the "
                        "expected F1 at that share is reported under \"unlabeled\" (docs/classifiers.md)")
    e.add_argument("--positive", help="the label to detect (default: the one the model was trained for)")
    e.add_argument("--threshold", type=float,
                   help="decision threshold (default: the model's chosen threshold, else 0.5)")
    e.add_argument("--output", help="also write the JSON to this file")
    e.set_defaults(func=_eval)


def _names(value: str) -> tuple[str, ...]:
    names = tuple(x.strip() for x in value.split(",") if x.strip())
    if not names:
        raise argparse.ArgumentTypeError("expected one or more group names separated by commas")
    return names


def _data_args(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("--input", nargs="+", required=required, metavar="FILE",
                   help="labelled JSONL or fastText-format files")
    old_name(p, "--data", "input")
    p.add_argument("--text-field", default="text", help="JSONL field with the text (default text)")
    p.add_argument("--label-field", default="label", help="JSONL field with the label (default label)")
    p.add_argument("--format", default="auto", choices=("auto", "jsonl", "fasttext"),
                   help="input format (auto: jsonl for *.jsonl/*.json, else fastText)")
    p.add_argument("--relabel", action="append", default=[], metavar="FIELD=VALUE:LABEL",
                   help="JSONL records whose FIELD equals VALUE get LABEL (repeatable; recorded in "
                        "the metrics and card), e.g. source=fortune/limerick:offensive")


def _train(args: argparse.Namespace) -> int:
    from gristmill.classify.data import Relabel
    from gristmill.classify.preprocess import parse_clean
    from gristmill.classify.train import train_classifier

    cfg = ClassifierConfig(
        epoch=args.epoch, lr=args.lr, dim=args.dim, word_ngrams=args.word_ngrams, minn=args.minn,
        maxn=args.maxn, bucket=args.bucket, seed=args.seed, threads=args.threads,
        autotune=args.autotune, autotune_duration=args.autotune_duration, quantize=args.quantize,
        valid_fraction=args.valid_fraction, test_fraction=args.test_fraction,
        split_seed=args.split_seed, dedup_threshold=args.dedup_threshold, conflicts=args.conflicts,
    )
    description = args.description
    if description.startswith("@"):
        try:
            with open(description[1:], encoding="utf-8") as f:
                description = f.read()
        except OSError as e:
            raise UserError(f"cannot read --description file: {e}") from e
    if (args.valid_groups or args.test_groups) and not args.group_by:
        raise UserError("--valid-groups and --test-groups need --group-by FIELD")
    try:
        group = GroupConfig(args.group_by, args.valid_groups or (), args.test_groups or ()) if args.group_by else None
        recipe = RecipeConfig(args.recipe or ("transfer" if args.group_by else "plain"),
                              parse_clean(args.clean) if args.clean is not None else None,
                              args.search_trials, args.search_budget, args.max_cost or None,
                              args.select, args.search_folds)
        relabel = [Relabel.parse(r) for r in args.relabel]
        res = train_classifier(args.input, args.output, cfg, args.text_field, args.label_field,
                               args.format, args.positive, args.name, description, relabel, group, recipe)
    except UserError:  # DataError: already names the file and line
        raise
    except ValueError as e:  # fastText and option checks raise plain ValueErrors
        raise UserError(str(e)) from e
    m = res.metrics
    t = m["test"]
    print(f"wrote {res.model_path}" + (f" and {res.quantized_path}" if res.quantized_path else ""))
    where = "out-of-group test" if "test_in_group" in m else "test split"
    print(f"{where} ({m['split']['sizes']['test']} docs): positive={m['positive']} "
          f"threshold={m['threshold']} precision={t['precision']:.3f} recall={t['recall']:.3f} "
          f"f1={t['f1']:.3f}")
    if "transfer" in m:
        f1 = m["transfer"]["f1"]
        print(f"in-group test ({m['split']['sizes']['test_in_group']} docs): f1={f1['in_group']:.3f} "
              f"(drop out of group: {f1['drop']:.3f})")
    print(f"metrics: {res.metrics_path}\ncard: {res.card_path}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from gristmill.classify.data import Relabel
    from gristmill.classify.evaluate import evaluate_model, evaluate_sets

    if not args.input and not args.test and not args.unlabeled:
        raise UserError("classifier eval needs --input FILE or at least one --test NAME=FILE")
    try:
        relabel = [Relabel.parse(r) for r in args.relabel]
        if args.test or args.unlabeled:
            sets = _test_sets(args.test, args.input)
            unlabeled = _test_sets(args.unlabeled, None, "--unlabeled")
            out = evaluate_sets(args.model, sets, args.positive, args.threshold, args.text_field,
                                args.label_field, args.format, relabel, unlabeled)
        else:
            out = evaluate_model(args.model, args.input, args.positive, args.threshold,
                                 args.text_field, args.label_field, args.format, relabel)
    except UserError:  # DataError, ModelLoadError
        raise
    except ValueError as e:
        raise UserError(str(e)) from e
    text = json.dumps(out, indent=2, sort_keys=True)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    print(text)
    return 0


def _test_sets(specs: list[str], inputs: list[str] | None, flag: str = "--test") -> dict[str, list[str]]:
    """``NAME=FILE[,FILE]`` specs as {name: files}; ``--input`` files, if any, are the set
    ``input``. A repeated name or a spec without ``=`` is an error."""
    sets: dict[str, list[str]] = {"input": list(inputs)} if inputs else {}
    for spec in specs:
        name, eq, files = spec.partition("=")
        name = name.strip()
        paths = [f for f in files.split(",") if f]
        if not (eq and name and paths):
            raise UserError(f"{flag} {spec!r}: expected NAME=FILE (e.g. {flag} 2012-w25=week25.jsonl)")
        if name in sets:
            raise UserError(f"{flag} {spec!r}: the name {name!r} is used twice")
        sets[name] = paths
    return sets
