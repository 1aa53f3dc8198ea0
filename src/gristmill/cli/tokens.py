"""Subcommands of the tokenize area: ``tokenize``, ``tokenizer train``, ``shards verify``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gristmill.cli.parser import add_operand, old_name, positive_int
from gristmill.errors import UserError


def _print_totals(manifest: dict, where: str) -> None:
    from gristmill.safe_text import visible

    t = manifest["totals"]
    tok = manifest["tokenizer"]
    # the manifest is a file anyone could have written: its strings are shown escaped
    print(visible(f"{where}: {len(manifest['shards'])} shards, {manifest['dtype']}, tokenizer "
                  f"{tok['name']} (vocab {tok['vocab_size']}, eos {tok['eos_id']})"))
    for split in ("train", "validation"):
        print(f"  {split:<10} {t[split]['documents']:>10,} documents {t[split]['tokens']:>14,} tokens")
    print(f"  {'total':<10} {t['documents']:>10,} documents {t['tokens']:>14,} tokens")


def _tokenize(args: argparse.Namespace, extra: list[str]) -> int:
    from gristmill.config import ConfigError, TokenizeConfig, load_config

    try:
        base = (load_config(args.config).tokenize if args.config else None) or TokenizeConfig()
    except ConfigError as e:
        raise UserError(str(e)) from e
    overrides = {k: v for k, v in {
        "tokenizer": args.tokenizer, "shard_tokens": args.shard_tokens,
        "val_fraction": args.val_fraction, "seed": args.seed, "batch_size": args.batch_size,
    }.items() if v is not None}
    try:
        cfg = TokenizeConfig.model_validate({**base.model_dump(), **overrides})
    except ValueError as e:
        raise UserError(str(e)) from e
    out = Path(args.output)
    from gristmill.pipelines.tokenize import run_tokenize

    try:
        manifest = run_tokenize(args.input, str(out), cfg, workers=args.workers,
                                runner=args.runner, extra_args=extra, overwrite=args.overwrite,
                                progress_every=args.progress_every)
    except (FileNotFoundError, ValueError) as e:
        raise UserError(str(e)) from e
    _print_totals(manifest, str(out))
    return 0


def _tokenizer_train(args: argparse.Namespace) -> int:
    from gristmill.tokenize.bpe import load_tokenizer
    from gristmill.tokenize.hf_files import train_tokenizer_dir
    from gristmill.tokenize.train_bpe import kept_files, train_bpe

    # A path ending in .json is the old form (the file alone); anything else is a directory
    # with the files transformers' AutoTokenizer needs.
    as_file = args.output.endswith(".json")
    try:
        files = kept_files(args.input)
        if as_file:
            train_bpe(files, args.vocab_size, args.output, min_frequency=args.min_frequency)
        else:
            train_tokenizer_dir(files, args.vocab_size, args.output,
                                min_frequency=args.min_frequency,
                                model_max_length=args.model_max_length, overwrite=args.overwrite)
    except (FileNotFoundError, ValueError) as e:
        raise UserError(str(e)) from e
    tok = load_tokenizer(args.output)
    what = "tokenizer.json" if as_file else "tokenizer.json + transformers config (AutoTokenizer)"
    print(f"wrote {args.output}: {what}; byte-level BPE, vocab {tok.vocab_size}, eos "
          f"{tok.eos_id}, trained on {len(files)} Parquet files")
    return 0


def _shards_verify(args: argparse.Namespace) -> int:
    from gristmill.tokenize.verify import verify_shards

    report = verify_shards(args.input)
    if not report.ok:
        from gristmill.safe_text import visible

        for p in report.problems:  # they quote manifest entries (file names): escaped
            print(f"FAIL {visible(p)}", file=sys.stderr)
        print(f"shards verify: {len(report.problems)} problem(s) in {args.input}",
              file=sys.stderr)
        return 1
    assert report.manifest is not None
    _print_totals(report.manifest, str(args.input))
    print(f"shards verify: OK ({report.shards_checked} shards, {report.tokens_checked:,} tokens: "
          f"sha256, dtype, ids < vocab, paths, EOS counts and totals match the manifest)")
    return 0


def _shards_info(args: argparse.Namespace) -> int:
    from gristmill.tokenize.shards import ShardError, read_manifest

    try:
        manifest = read_manifest(args.input)
    except ShardError as e:
        raise UserError(str(e)) from e
    if args.json:
        print(json.dumps(manifest, indent=2))
    else:
        _print_totals(manifest, str(args.input))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this area's subcommands to the `gristmill` parser."""
    p = sub.add_parser(
        "tokenize",
        help="tokenize kept documents into Arrow token shards (Beam pipeline)",
        description="Encode RUN_DIR/kept Parquet into SHARDS_DIR/<split>-NNNNN.arrow token shards "
        "and manifest.json. Flags it does not know are accepted if Beam's PipelineOptions define them; anything after -- goes to Beam unchecked.",
    )
    p.add_argument("--input", required=True,
                   help="RUN_DIR/kept (directory of Parquet), RUN_DIR, or a glob")
    p.add_argument("--output", required=True, help="shards directory to write")
    p.add_argument("--tokenizer", default=None, help="'gpt2' (default) or a tokenizer.json path")
    p.add_argument("--config", default=None, help="pipeline YAML whose tokenize: section to use")
    p.add_argument("--shard-tokens", type=int, default=None, help="target tokens per shard")
    p.add_argument("--val-fraction", type=float, default=None,
                   help="share of documents (by id hash) in the validation split")
    p.add_argument("--seed", type=int, default=None, help="seed of the split/shard hashes")
    p.add_argument("--batch-size", type=int, default=None, help="documents per encode batch")
    p.add_argument("--workers", type=positive_int, default=1, help="worker processes (local runner)")
    p.add_argument("--runner", default=None, help="Beam runner (default: local FnApiRunner)")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty output directory")
    from gristmill.cli.run import add_progress_flag

    add_progress_flag(p)
    p.set_defaults(func=_tokenize, pass_extra=True)

    t = sub.add_parser("tokenizer", help="tokenizer tools (train)",
                       description="Tokenizer tools.")
    tsub = t.add_subparsers(dest="tokenizer_command", metavar="COMMAND", required=True)
    tt = tsub.add_parser(
        "train", help="train a byte-level BPE tokenizer on kept documents",
        description="Train a byte-level BPE (HF tokenizers) with special tokens <|endoftext|> "
        "(id 0: EOS, also BOS and UNK) and <|pad|> (PAD). The output directory loads in "
        "transformers.AutoTokenizer.from_pretrained(DIR) and in `gristmill tokenize "
        "--tokenizer DIR`.",
    )
    tt.add_argument("--input", required=True, help="RUN_DIR/kept (directory of Parquet) or a glob")
    tt.add_argument("--vocab-size", type=int, required=True, help="vocabulary size (>= 258)")
    tt.add_argument("--output", required=True,
                    help="directory to write (tokenizer.json, tokenizer_config.json, "
                    "special_tokens_map.json: AutoTokenizer.from_pretrained(DIR) loads it); "
                    "a path ending in .json writes that file alone")
    old_name(tt, "--out", "output")
    tt.add_argument("--min-frequency", type=int, default=2, help="minimum pair count to merge")
    tt.add_argument("--model-max-length", type=positive_int, default=1024,
                    help="model_max_length in tokenizer_config.json (the model's context)")
    tt.add_argument("--overwrite", action="store_true",
                    help="replace an existing output directory that gristmill wrote")
    tt.set_defaults(func=_tokenizer_train)

    s = sub.add_parser("shards", help="token shard tools (verify, info)",
                       description="Token shard tools.")
    ssub = s.add_subparsers(dest="shards_command", metavar="COMMAND", required=True)
    sv = ssub.add_parser(
        "verify", help="check shards against manifest.json (exit 1 on any mismatch)",
        description="Check every shard's sha256, dtype, token and document (EOS) counts, that all "
        "ids are below the vocabulary size (and equal each shard's max_id), that every manifest "
        "entry is a file inside SHARDS_DIR, and the manifest totals. Exit 1 on any problem.",
    )
    add_operand(sv, "--input", "SHARDS_DIR", "directory with manifest.json")
    sv.set_defaults(func=_shards_verify)
    si = ssub.add_parser("info", help="print a shards directory's totals",
                         description="Print the manifest totals (or the whole manifest).")
    add_operand(si, "--input", "SHARDS_DIR", "directory with manifest.json")
    si.add_argument("--json", action="store_true", help="print the whole manifest as JSON")
    si.set_defaults(func=_shards_info)
    from gristmill.cli.shards_export import register_export

    register_export(ssub)
