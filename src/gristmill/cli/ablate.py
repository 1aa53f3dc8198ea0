"""``gristmill ablate``: train proxy models on what each pipeline config keeps and compare them
on the same evaluation data (see gristmill.ablate and docs/ablations.md)."""

from __future__ import annotations

import argparse
import re

from gristmill.errors import UserError

# Trainer flags the ablation sets itself: shown nowhere, refused with the reason (spec.check).
_HIDDEN_OVERRIDES = ("max_steps", "seed", "ckpt_every", "eval_every")
_SUFFIX = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "g": 10**9}


def count(text: str) -> int:
    """``300000``, ``300k``, ``2.5M``, ``1B``, ``1e6``: a positive count (of tokens, bytes)."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([kmbg]?)\s*", text.lower())
    if not m:
        raise argparse.ArgumentTypeError(f"expected a count like 300000, 300k, 2.5M or 1B, "
                                         f"got {text!r}")
    n = int(float(m.group(1)) * _SUFFIX[m.group(2)])
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text!r}")
    return n


def _fraction(text: str) -> float:
    try:
        f = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text!r}") from None
    if not 0 <= f < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text!r}")
    return f


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``ablate`` to the `gristmill` parser (without importing torch, Beam or numpy)."""
    from gristmill.cli.parser import positive_int
    from gristmill.train.presets import PRESETS

    p = sub.add_parser(
        "ablate",
        help="train proxy models on each config's kept data and compare them",
        description="Run each pipeline --config on the same --input, train one proxy GPT per "
        "config and seed on the same number of tokens (--tokens) with the same model, and score "
        "every model on the same evaluation data: --eval texts in bits per byte, --mc-eval "
        "multiple-choice files (HellaSwag layout) in acc_norm, and without --eval a held-out "
        "slice of the raw input that no config trains on. Writes OUTPUT/ablation.json; `gristmill "
        "report OUTPUT --html FILE` draws the page. Rerunning the command resumes: finished runs "
        "and models are reused, an interrupted model continues from its last checkpoint.",
    )
    p.add_argument("--input", nargs="+", required=True, metavar="RAW",
                   help="raw input: files, directories or globs (as `gristmill run` reads them)")
    p.add_argument("--config", action="append", required=True, metavar="CONFIG",
                   help="a pipeline config (built-in name or YAML path), named by its file stem; "
                   "repeat for each config to compare")
    p.add_argument("--output", required=True, metavar="DIR", help="ablation directory")
    p.add_argument("--tokens", required=True, type=count, metavar="N",
                   help="training tokens per model (300k, 2.5M, 1B ...); rounded to whole steps")
    p.add_argument("--preset", choices=list(PRESETS), default=None,
                   help="proxy model shape (default: tiny, or the --train-config's preset)")
    p.add_argument("--seeds", type=positive_int, default=1, metavar="K",
                   help="models per config, seeds 0..K-1 (default 1; 2+ measures the spread)")
    p.add_argument("--eval", action="append", default=[], metavar="FILE",
                   help="reference texts scored in bits per byte (JSONL/Parquet/text, field "
                   "'text'); named by the file stem; repeatable")
    p.add_argument("--mc-eval", action="append", default=[], metavar="FILE",
                   help="multiple-choice JSONL (ctx, endings, label) scored by acc_norm; repeatable")
    p.add_argument("--heldout-fraction", type=_fraction, default=None, metavar="F",
                   help="share of raw documents held out (by a hash of the id) as the 'heldout' "
                   "eval set (default 0.01 without --eval, none with it)")
    p.add_argument("--eval-points", type=positive_int, default=4, metavar="K",
                   help="evaluations along each training, the last at the end (default 4)")
    p.add_argument("--eval-bytes", type=count, default=500_000, metavar="N",
                   help="UTF-8 bytes of each text eval set scored, whole documents in hash "
                   "order (default 500k)")
    p.add_argument("--train-config", metavar="YAML",
                   help="flat YAML mapping of trainer keys, as `gristmill train --config` takes")
    p.add_argument("--tokenizer", default="gpt2", metavar="gpt2|PATH",
                   help="tokenizer for a config without a tokenize: section (default gpt2)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                   help="where models train and are scored (default: the GPU if there is one)")
    p.add_argument("--nproc-per-node", type=positive_int, default=1, metavar="N",
                   help="train each model with DDP on N processes (torchrun; one per GPU)")
    p.add_argument("--workers", type=positive_int, default=1,
                   help="pipeline worker processes for the local runner (default 1)")
    p.defer(_add_trainer_flags)  # read from the trainer's config models when `ablate` is used
    p.set_defaults(func=_cmd_ablate)


def _add_trainer_flags(p: argparse.ArgumentParser) -> None:
    """``train``'s override flags, less the ones the ablation sets itself (hidden)."""
    from gristmill.cli.train import add_override_flags

    add_override_flags(p)
    for action in p._actions:
        if action.dest in {f"cfg_{k}" for k in _HIDDEN_OVERRIDES}:
            action.help = argparse.SUPPRESS


def _overrides(args: argparse.Namespace) -> tuple[str, dict]:
    """(preset, trainer overrides): ``--preset`` < ``--train-config`` < flags, as ``train``."""
    from gristmill.train.config import MODEL_KEYS, TRAIN_KEYS, load_yaml

    preset, overrides = None, {}
    if args.train_config:
        preset, overrides = load_yaml(args.train_config)
    preset = args.preset or preset or "tiny"
    for key in MODEL_KEYS | TRAIN_KEYS:
        value = getattr(args, f"cfg_{key}", None)
        if value is not None:
            overrides[key] = value
    return preset, overrides


def _cmd_ablate(args: argparse.Namespace) -> int:
    from gristmill.cli.train import require_torch

    require_torch("ablate")
    from rich.console import Console

    from gristmill.ablate.orchestrate import run_ablation
    from gristmill.ablate.spec import AblationSpec, load_entries
    from gristmill.ablate.terminal import print_summary

    preset, overrides = _overrides(args)
    if not args.config:
        raise UserError("give at least one --config")
    spec = AblationSpec(
        inputs=args.input, configs=load_entries(args.config), output=args.output,
        tokens=args.tokens, preset=preset, overrides=overrides, seeds=args.seeds,
        evals=args.eval, mc_evals=args.mc_eval, heldout_fraction=args.heldout_fraction,
        eval_points=args.eval_points, eval_bytes=args.eval_bytes, device=args.device,
        nproc_per_node=args.nproc_per_node, workers=args.workers, tokenizer=args.tokenizer,
    )
    report = run_ablation(spec)
    print_summary(report, Console(width=120, markup=False, emoji=False),
                  where=f"{args.output}/ablation.json (HTML: gristmill report {args.output} "
                  f"--html {args.output}/report.html)")
    return 0
