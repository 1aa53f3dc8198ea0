"""``gristmill shards verify``: prove a shards directory is what its manifest says.

Checks every shard's sha256 (catches any edit or truncation), that it opens as a one-batch
Arrow file of the manifest's dtype, that its token and document counts (EOS count) equal the
manifest's, that every id is below the vocabulary size (and equals the manifest's ``max_id``),
that every manifest entry names a file inside the directory, and that the totals add up. Every
problem is reported, not just the first, each naming the file and the fix.

The trainer runs the same checks before it trains (``require_trainable``). With
``full=False`` (``gristmill train --no-verify``) only the cheap ones run, those that read the
manifest and the directory but not the shards: paths confined to the directory, files present,
the manifest's ``max_id`` against the vocabulary, totals. A shard's ids file (``ids_file``,
optional) is checked the same way: inside the directory, present, sha256 and one id per
document.
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
    read_ids_file,
    read_manifest,
    sha256_file,
    shard_path,
    token_dtype,
)


@dataclass
class VerifyReport:
    root: Path
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # checks that could not be made
    shards_checked: int = 0
    tokens_checked: int = 0
    manifest: dict | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class _Limits:
    """What every shard is checked against."""

    dtype: np.dtype
    vocab: int  # the manifest tokenizer's vocab_size
    eos: int
    model_vocab: int | None  # the model's vocab_size, when a trainer asks


def _check_top(where: str, top: int, limits: _Limits, report: VerifyReport) -> None:
    """A shard's largest id (read or from the manifest) against both vocabularies."""
    if top >= limits.vocab:
        report.problems.append(f"{where} {top} >= vocab_size {limits.vocab} of the manifest's "
                               f"tokenizer (ids and tokenizer do not match; re-run tokenize)")
    elif limits.model_vocab is not None and top >= limits.model_vocab:
        report.problems.append(f"{where} {top} >= the model's vocab_size {limits.model_vocab}")


def _check_entry(root: Path, shard: dict, limits: _Limits, report: VerifyReport) -> Path | None:
    """The cheap checks of one manifest entry (no shard read); its path if it can be opened."""
    name = shard.get("file", "?")
    try:
        path = shard_path(root, name)
    except ShardError as e:
        report.problems.append(str(e))
        return None
    if not SHARD_NAME.match(name) or not name.startswith(f"{shard.get('split')}-"):
        report.problems.append(f"{path}: name does not match split {shard.get('split')!r}")
    if not path.is_file():
        report.problems.append(f"{path}: missing (listed in {MANIFEST})")
        return None
    max_id = shard.get("max_id")
    if max_id is None:
        return path  # an older manifest: the full check reads the ids instead
    if not isinstance(max_id, int) or isinstance(max_id, bool) or max_id < 0:
        report.problems.append(f"{path}: manifest max_id {max_id!r} is not an id")
    else:
        _check_top(f"{path}: manifest max_id", max_id, limits, report)
    return path


def _check_contents(path: Path, shard: dict, limits: _Limits, report: VerifyReport) -> None:
    """The full checks of one shard: sha256, Arrow layout, counts and ids (reads it all)."""
    digest = sha256_file(path)
    if digest != shard.get("sha256"):
        report.problems.append(f"{path}: sha256 {digest[:16]}... does not match the manifest's "
                               f"{str(shard.get('sha256'))[:16]}... (file edited or truncated; "
                               f"re-run tokenize)")
    try:
        arr = map_token_file(path, limits.dtype)
    except ShardError as e:
        report.problems.append(str(e))
        return
    report.shards_checked += 1
    report.tokens_checked += int(arr.size)
    if arr.size != shard.get("tokens"):
        report.problems.append(f"{path}: {arr.size} tokens, manifest says {shard.get('tokens')}")
    if arr.size:
        top = int(arr.max())
        _check_top(f"{path}: token id", top, limits, report)
        if shard.get("max_id") is not None and shard["max_id"] != top:
            report.problems.append(f"{path}: largest id is {top}, manifest max_id says "
                                   f"{shard['max_id']}")
        if int(arr[-1]) != limits.eos:
            report.problems.append(f"{path}: does not end with EOS ({limits.eos}); last "
                                   f"document cut")
    n_eos = int(np.count_nonzero(arr == limits.eos))
    if n_eos != shard.get("documents"):
        report.problems.append(f"{path}: {n_eos} EOS tokens (documents), manifest says "
                               f"{shard.get('documents')}")


def _check_ids(root: Path, shard: dict, report: VerifyReport, full: bool) -> None:
    """A shard's ids file (optional; shards written before them have none): inside the
    directory, present, and with a full check its sha256 and one id per document."""
    try:
        path = shard_path(root, shard["ids_file"])
    except ShardError as e:
        report.problems.append(str(e))
        return
    if not path.is_file():
        report.problems.append(f"{path}: missing (listed in {MANIFEST} as ids_file)")
        return
    if not full:
        return
    if sha256_file(path) != shard.get("ids_sha256"):
        report.problems.append(f"{path}: sha256 does not match the manifest's ids_sha256 (file "
                               f"edited or truncated; re-run tokenize)")
    try:
        n = len(read_ids_file(path))
    except ShardError as e:
        report.problems.append(str(e))
        return
    if n != shard.get("documents"):
        report.problems.append(f"{path}: {n} ids, manifest says {shard.get('documents')} "
                               f"documents")


def _check_totals(root: Path, manifest: dict, report: VerifyReport) -> None:
    totals = manifest["totals"]
    shards = [s for s in manifest["shards"] if isinstance(s, dict)]
    for split in SPLITS:
        mine = [s for s in shards if s.get("split") == split]
        for key in ("documents", "tokens"):
            got = sum(int(s.get(key, 0)) for s in mine)
            want = (totals.get(split) or {}).get(key)
            if got != want:
                report.problems.append(f"{root / MANIFEST}: totals.{split}.{key} is {want}, "
                                       f"shards add up to {got}")
    for key in ("documents", "tokens"):
        got = sum(int(s.get(key, 0)) for s in shards)
        if got != totals.get(key):
            report.problems.append(f"{root / MANIFEST}: totals.{key} is {totals.get(key)}, "
                                   f"shards add up to {got}")


def verify_shards(shards_dir: str | Path, *, full: bool = True,
                  model_vocab: int | None = None) -> VerifyReport:
    """Check ``shards_dir`` against its manifest; ``report.ok`` is True when all is well.

    ``full=False`` skips everything that reads shard contents (sha256, counts, ids); a
    manifest without ``max_id`` then leaves the ids unchecked, said in ``report.warnings``.
    ``model_vocab`` also checks every id against a model's vocabulary."""
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
    limits = _Limits(token_dtype(vocab), vocab, eos, model_vocab)
    if manifest["dtype"] != limits.dtype.name:
        report.problems.append(f"{root / MANIFEST}: dtype {manifest['dtype']} but vocab_size "
                               f"{vocab} needs {limits.dtype.name}")
    listed = set()
    for shard in manifest["shards"]:
        if not isinstance(shard, dict):
            report.problems.append(f"{root / MANIFEST}: shard entry {shard!r} is not an object")
            continue
        if shard.get("split") not in SPLITS:
            report.problems.append(f"{root / MANIFEST}: shard {shard.get('file')} has split "
                                   f"{shard.get('split')!r}, expected one of {SPLITS}")
        listed.add(shard.get("file"))
        if shard.get("ids_file") is not None:
            listed.add(shard["ids_file"])
            _check_ids(root, shard, report, full)
        path = _check_entry(root, shard, limits, report)
        if path is not None and full:
            _check_contents(path, shard, limits, report)
        elif path is not None and shard.get("max_id") is None:
            report.warnings.append(f"{path}: the manifest has no max_id (written by an older "
                                   f"gristmill), so its ids were not checked against the "
                                   f"vocabulary without a full read")
    for f in sorted(root.glob("*.arrow")):
        if f.name not in listed:
            report.problems.append(f"{f}: shard file not listed in {MANIFEST} (stale or foreign)")
    _check_totals(root, manifest, report)
    return report


def require_trainable(shards_dir: str | Path, model_vocab: int, *, full: bool = True) -> list[str]:
    """The trainer's gate: raise ``ShardError`` naming the first problem (the shard, what is
    wrong) if ``verify_shards`` finds any; else return its warnings for the log."""
    report = verify_shards(shards_dir, full=full, model_vocab=model_vocab)
    if report.problems:
        more = len(report.problems) - 1
        hint = (f" ({more} more problem(s): run `gristmill shards verify {shards_dir}`)"
                if more else "")
        raise ShardError(report.problems[0] + hint)
    return report.warnings
