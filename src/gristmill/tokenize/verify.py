"""``gristmill shards verify``: prove a shards directory is what its manifest says.

Checks every shard's sha256 (catches any edit or truncation), that it opens as a one-batch
Arrow file of the manifest's dtype, that its token and document counts (EOS count) equal the
manifest's, that every id is below the vocabulary size, and that the totals add up. Every
problem is reported, not just the first, each naming the file and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gristmill.tokenize.shards import (
    MANIFEST,
    SHARD_NAME,
    SPLITS,
    ShardError,
    map_token_file,
    read_manifest,
    sha256_file,
    token_dtype,
)


@dataclass
class VerifyReport:
    root: Path
    problems: list[str] = field(default_factory=list)
    shards_checked: int = 0
    tokens_checked: int = 0
    manifest: dict | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def _check_shard(root: Path, shard: dict, dtype: np.dtype, vocab: int, eos: int,
                 report: VerifyReport) -> None:
    name = shard.get("file", "?")
    path = root / name
    where = f"{path}"
    if not SHARD_NAME.match(name) or not name.startswith(f"{shard.get('split')}-"):
        report.problems.append(f"{where}: name does not match split {shard.get('split')!r}")
    if not path.is_file():
        report.problems.append(f"{where}: missing (listed in {MANIFEST})")
        return
    digest = sha256_file(path)
    if digest != shard.get("sha256"):
        report.problems.append(f"{where}: sha256 {digest[:16]}... does not match the manifest's "
                               f"{str(shard.get('sha256'))[:16]}... (file edited or truncated; "
                               f"re-run tokenize)")
    try:
        arr = map_token_file(path, dtype)
    except ShardError as e:
        report.problems.append(str(e))
        return
    report.shards_checked += 1
    report.tokens_checked += int(arr.size)
    if arr.size != shard.get("tokens"):
        report.problems.append(f"{where}: {arr.size} tokens, manifest says {shard.get('tokens')}")
    if arr.size:
        top = int(arr.max())
        if top >= vocab:
            report.problems.append(f"{where}: token id {top} >= vocab_size {vocab}")
        if int(arr[-1]) != eos:
            report.problems.append(f"{where}: does not end with EOS ({eos}); last document cut")
    n_eos = int(np.count_nonzero(arr == eos))
    if n_eos != shard.get("documents"):
        report.problems.append(f"{where}: {n_eos} EOS tokens (documents), manifest says "
                               f"{shard.get('documents')}")


def verify_shards(shards_dir: str | Path) -> VerifyReport:
    """Check ``shards_dir`` against its manifest; ``report.ok`` is True when all is well."""
    root = Path(shards_dir)
    report = VerifyReport(root=root)
    try:
        manifest = read_manifest(root)
    except ShardError as e:
        report.problems.append(str(e))
        return report
    report.manifest = manifest
    tok = manifest["tokenizer"]
    try:
        vocab, eos = int(tok["vocab_size"]), int(tok["eos_id"])
    except (KeyError, TypeError, ValueError):
        report.problems.append(f"{root / MANIFEST}: tokenizer entry needs vocab_size and eos_id")
        return report
    dtype = token_dtype(vocab)
    if manifest["dtype"] != dtype.name:
        report.problems.append(f"{root / MANIFEST}: dtype {manifest['dtype']} but vocab_size "
                               f"{vocab} needs {dtype.name}")
    listed = set()
    for shard in manifest["shards"]:
        if shard.get("split") not in SPLITS:
            report.problems.append(f"{root / MANIFEST}: shard {shard.get('file')} has split "
                                   f"{shard.get('split')!r}, expected one of {SPLITS}")
        listed.add(shard.get("file"))
        _check_shard(root, shard, dtype, vocab, eos, report)
    for f in sorted(root.glob("*.arrow")):
        if f.name not in listed:
            report.problems.append(f"{f}: shard file not listed in {MANIFEST} (stale or foreign)")

    totals = manifest["totals"]
    for split in SPLITS:
        mine = [s for s in manifest["shards"] if s.get("split") == split]
        for key in ("documents", "tokens"):
            got = sum(int(s.get(key, 0)) for s in mine)
            want = (totals.get(split) or {}).get(key)
            if got != want:
                report.problems.append(f"{root / MANIFEST}: totals.{split}.{key} is {want}, "
                                       f"shards add up to {got}")
    for key in ("documents", "tokens"):
        got = sum(int(s.get(key, 0)) for s in manifest["shards"])
        if got != totals.get(key):
            report.problems.append(f"{root / MANIFEST}: totals.{key} is {totals.get(key)}, "
                                   f"shards add up to {got}")
    return report
