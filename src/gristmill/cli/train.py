"""Subcommands of the train area: ``train``, ``sample``, ``export-hf`` (see gristmill.cli).

Multi-GPU: ``torchrun --nproc_per_node=N -m gristmill.cli train ...`` (DDP is switched on by
torchrun's environment; nothing else changes).
"""

from __future__ import annotations

import argparse
import sys
import typing
from typing import Any, Literal

from gristmill.cli.parser import StrictParser, old_name
from gristmill.errors import UserError
from gristmill.safe_text import visible
from gristmill.train.presets import PRESETS

# What to install when torch is missing: the core install has the pipeline only.
TRAIN_EXTRA = "pip install 'gristmill[train]'"


def register(sub: argparse._SubParsersAction) -> None:
    """Add this area's subcommands to the `gristmill` parser (without importing torch)."""
    p = sub.add_parser(
        "train",
        help="train a GPT on token shards",
        description="Train a GPT on SHARDS_DIR (from `gristmill tokenize`). Writes RUN_DIR/"
        "metrics.jsonl, RUN_DIR/config.json and RUN_DIR/ckpt/{last,best}.pt (and with "
        "--tensorboard, RUN_DIR/tensorboard/). Settings: "
        "--preset, then --config YAML (flat mapping of the keys below, optionally preset:), "
        "then the flags below. The shards are verified first, as `gristmill shards verify` "
        "does (sha256, ids < vocab, paths inside SHARDS_DIR). Under torchrun, trains with DDP.",
    )
    p.add_argument("--input", required=True, metavar="SHARDS_DIR", help="token shards directory")
    old_name(p, "--data", "input")
    p.add_argument("--output", required=True, metavar="RUN_DIR", help="run directory to write")
    old_name(p, "--out", "output")
    p.add_argument("--preset", choices=list(PRESETS), default=None,
                   help="model shape to start from (default: tiny)")
    p.add_argument("--config", metavar="YAML", help="flat YAML mapping of config keys")
    p.add_argument("--resume", action="store_true",
                   help="continue from RUN_DIR/ckpt/last.pt; a new or empty RUN_DIR starts "
                   "fresh, one with metrics but no last.pt is an error")
    p.add_argument("--no-verify", action="store_true",
                   help="skip the full read that checks every shard's sha256 and ids (for "
                   "corpora where it is too slow); paths and the manifest's max ids are "
                   "still checked")
    p.add_argument("--init-from", metavar="HF_DIR", default=None,
                   help="start from the weights of a local Hugging Face GPT-2 directory "
                   "(config.json + model.safetensors or pytorch_model.bin, as export-hf "
                   "writes); it decides the model's shape, its tokenizer must be the shards'; "
                   "optimizer and step start fresh. Not with --resume")
    if isinstance(p, StrictParser):
        p.defer(add_override_flags)  # read from the config models when `train` is used
    else:
        add_override_flags(p)
    p.set_defaults(func=_cmd_train)

    s = sub.add_parser("sample", help="generate text from a trained checkpoint",
                       description="Sample continuations of --prompt from a run's best "
                       "checkpoint (or last, or a .pt file).")
    s.add_argument("--input", required=True, metavar="RUN_DIR|FILE",
                   help="checkpoint: a run directory or a .pt file")
    old_name(s, "--ckpt", "input")
    s.add_argument("--prompt", default="", help="text to continue (empty: start of a document)")
    s.add_argument("--max-new-tokens", type=int, default=100)
    s.add_argument("--temperature", type=float, default=0.8, help="0 = greedy")
    s.add_argument("--top-k", type=int, default=200, help="sample among the k likeliest (0: all)")
    s.add_argument("--num-samples", type=int, default=1)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--no-cache", action="store_true", help="recompute the prefix every token")
    s.add_argument("--which", choices=["best", "last"], default="best",
                   help="checkpoint of a run directory to use first")
    s.add_argument("--tokenizer", default=None, help="gpt2|PATH (default: the run's)")
    s.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: best available)")
    s.set_defaults(func=_cmd_sample)

    e = sub.add_parser("export-hf", help="export a checkpoint as a Hugging Face GPT-2 model",
                       description="Write model.safetensors, config.json and the tokenizer so "
                       "transformers.GPT2LMHeadModel.from_pretrained(DIR) loads the model.")
    e.add_argument("--input", required=True, metavar="RUN_DIR|FILE",
                   help="checkpoint: a run directory or a .pt file")
    old_name(e, "--ckpt", "input")
    e.add_argument("--output", required=True, metavar="DIR", help="directory to write")
    old_name(e, "--out", "output")
    e.add_argument("--which", choices=["best", "last"], default="best")
    e.add_argument("--tokenizer", default=None, help="gpt2|PATH (default: the run's)")
    e.set_defaults(func=_cmd_export)


def add_override_flags(parser: argparse.ArgumentParser) -> None:
    """One ``--field-name`` flag per field of ``GPTConfig`` and ``TrainConfig``, typed (a
    ``Literal`` becomes choices, a bool ``--x/--no-x``), its help the field's description,
    defaulting to "not given" so the preset and the YAML file keep their say."""
    from gristmill.train.config import GPTConfig, TrainConfig

    for cls, title in ((GPTConfig, "model"), (TrainConfig, "training")):
        group = parser.add_argument_group(f"{title} overrides (default: the preset's value)")
        for name, field in cls.model_fields.items():
            flag = "--" + name.replace("_", "-")
            tp = field.annotation
            help_text = f"{field.description} (default {field.default!r})".replace("%", "%%")
            if typing.get_origin(tp) is Literal:
                group.add_argument(flag, dest=f"cfg_{name}", choices=typing.get_args(tp),
                                   default=None, help=help_text)
            elif tp is bool:
                group.add_argument(flag, dest=f"cfg_{name}", default=None,
                                   action=argparse.BooleanOptionalAction, help=help_text)
            else:
                assert tp in (int, float), f"no flag type for {cls.__name__}.{name}: {tp}"
                group.add_argument(flag, dest=f"cfg_{name}", type=tp, default=None,
                                   metavar=tp.__name__.upper(), help=help_text)


def flag_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The config settings given as flags (``--lr 0.1`` -> ``{"lr": 0.1}``), nothing else."""
    prefix = "cfg_"
    return {key[len(prefix):]: value for key, value in vars(args).items()
            if key.startswith(prefix) and value is not None}


def overrides_from_args(args: argparse.Namespace) -> tuple[str | None, dict[str, Any], str]:
    """(preset, settings from ``--config`` YAML and flags, where they came from)."""
    from gristmill.train.config import gather_overrides

    return gather_overrides(getattr(args, "preset", None), getattr(args, "config", None),
                            flag_settings(args))


def configs_from_args(args: argparse.Namespace) -> tuple[Any, Any]:
    """(GPTConfig, TrainConfig): preset < ``--config`` YAML < explicit flags."""
    from gristmill.train.config import build_configs

    return build_configs(*overrides_from_args(args))


def require_torch(command: str, *modules: str) -> None:
    """Fail with the one line that says what to install when the trainer's dependencies are
    missing (a core ``pip install gristmill`` has no torch). Call before importing them."""
    import importlib

    for name in ("torch", *modules):
        try:
            importlib.import_module(name)
        except ImportError as e:
            raise UserError(f"`gristmill {command}` needs {name}, which is not installed "
                            f"({e}); install the trainer with: {TRAIN_EXTRA}") from e


def _cmd_train(args: argparse.Namespace) -> int:
    require_torch("train")
    from gristmill.train.trainer import train

    # Every user mistake here (config, shards, resume, checkpoint) is a UserError: gristmill.cli
    # prints it as one line and exits 2.
    if args.init_from and not args.resume:  # with --resume: train() says they exclude
        from gristmill.train.import_hf import configs_from_checkpoint, read_hf_checkpoint

        hf = read_hf_checkpoint(args.init_from)
        mcfg, tcfg = configs_from_checkpoint(hf, *overrides_from_args(args))
    else:
        mcfg, tcfg = configs_from_args(args)
    summary = train(args.input, args.output, mcfg, tcfg, resume=args.resume,
                    verify=not args.no_verify, init_from=args.init_from)
    if "val_loss" in summary:
        print(f"step {summary['step']}: val loss {summary['val_loss']:.4f} "
              f"(best {summary['best_val_loss']:.4f}); run in {args.output}")
    return 0


def _run_tokenizer(ckpt: dict, override: str | None) -> Any:
    """The checkpoint's tokenizer; a tokenizer file that does not load is the user's to fix."""
    from gristmill.errors import one_line
    from gristmill.train.sample import load_run_tokenizer

    try:
        return load_run_tokenizer(ckpt, override)
    except ValueError as e:  # tokenize.load_tokenizer: not a tokenizer.json, no EOS token
        raise UserError(one_line(e)) from e


def _cmd_sample(args: argparse.Namespace) -> int:
    require_torch("sample")
    from gristmill.train.sample import default_device, generate_text, load_model

    model, ckpt = load_model(args.input, default_device(args.device), prefer=args.which)
    tok = _run_tokenizer(ckpt, args.tokenizer)
    texts = generate_text(model, tok, args.prompt, args.max_new_tokens, args.temperature,
                          args.top_k or None, args.seed, args.num_samples, not args.no_cache)
    for i, text in enumerate(texts):
        if args.num_samples > 1:
            print(f"--- sample {i + 1}")
        # Model output can hold any byte sequence the tokenizer knows: escape control
        # characters on a terminal; a pipe or file gets the text as generated.
        print(visible(text, multiline=True) if sys.stdout.isatty() else text)
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    require_torch("export-hf", "safetensors")
    from gristmill.train.export_hf import export_hf
    from gristmill.train.sample import load_model

    model, ckpt = load_model(args.input, "cpu", prefer=args.which)
    tok = _run_tokenizer(ckpt, args.tokenizer)
    out = export_hf(model, tok, args.output)
    print(f"exported {ckpt['path']} (step {ckpt['step']}) to {out}")
    return 0
