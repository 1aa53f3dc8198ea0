"""``gristmill shards export``: the command line of ``gristmill.tokenize.export``."""

from __future__ import annotations

import argparse
import sys
from contextlib import nullcontext

# What to tell a user after each format: how its trainer picks the files up.
NEXT_STEP = {
    "nanogpt": "train nanoGPT on them: cp {out}/train.bin {out}/val.bin {out}/meta.pkl "
               "nanoGPT/data/gristmill/ && cd nanoGPT && python train.py --dataset=gristmill "
               "(meta.pkl sets vocab_size; add --device=cpu --compile=False without a GPU)",
    "megatron": "train Megatron-LM on them: --train-data-path {out}/train_text_document "
                "--valid-data-path {out}/validation_text_document",
    "hf": "load them with datasets.load_from_disk({out!r}) (splits train, validation; "
          "columns {columns}; EOS last in input_ids)",
}


def _shards_export(args: argparse.Namespace) -> int:
    from gristmill.safe_text import visible
    from gristmill.tokenize.export import export_shards
    from gristmill.tokenize.shards import read_manifest

    total = read_manifest(args.input)["totals"]["tokens"] if sys.stderr.isatty() else 0
    bar = nullcontext(None)
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=total, unit="tok", unit_scale=True, desc=f"export {args.format}",
                   file=sys.stderr, leave=False)
    with bar as b:
        manifest = export_shards(args.input, args.output, args.format, overwrite=args.overwrite,
                                 progress=b.update if b is not None else None)
    out = args.output.rstrip("/") or args.output
    t = manifest["totals"]
    print(visible(f"{out}: {args.format}, {t['documents']:,} documents, {t['tokens']:,} tokens "
                  f"({manifest['dtype']}, EOS {manifest['eos_id']} after each document)"))
    for split, s in manifest["splits"].items():
        print(visible(f"  {split:<10} {s['documents']:>10,} documents {s['tokens']:>14,} tokens  "
                      f"{', '.join(s['files'])}"))
        if s["tokens"] == 0:
            print(f"warning: the {split} split is empty", file=sys.stderr)
    columns = "id, input_ids" if manifest.get("ids") else "input_ids"
    print(visible(NEXT_STEP[args.format].format(out=out, columns=columns)))
    return 0


def register_export(ssub: argparse._SubParsersAction) -> None:
    """Add ``shards export`` to the ``shards`` subcommands (imports nothing heavy: the
    formats are spelled here and a test holds them equal to ``export.FORMATS``)."""
    se = ssub.add_parser(
        "export", help="write shards as nanoGPT .bin, Megatron-LM .bin/.idx or an HF dataset",
        description="Export token shards for another trainer, keeping their train/validation "
        "split and order: nanogpt (train.bin, val.bin: flat uint16; meta.pkl), megatron "
        "(<split>_text_document.bin/.idx, one document per sequence) or hf (datasets "
        "save_to_disk, one row per document). EOS stays after each document. Writes "
        "export.json last; refuses an existing --output unless --overwrite, and replaces only "
        "a directory gristmill wrote.",
    )
    se.add_argument("--input", required=True, help="shards directory (with manifest.json)")
    se.add_argument("--output", required=True, help="directory to write")
    se.add_argument("--format", required=True, choices=("nanogpt", "megatron", "hf"), help="what to write")
    se.add_argument("--overwrite", action="store_true",
                    help="replace an existing output directory that gristmill wrote")
    se.set_defaults(func=_shards_export)
