"""Small real data for the out-of-group tests: demo fortunes grouped by file family."""

from __future__ import annotations

import json
from pathlib import Path

from demo_util import read_jsonl

# per family: how many entries to keep (every one of the small files); limericks are offensive
# (FreeBSD installs them only with its offensive set, as the built-in model's --relabel says)
KEEP = {"fortunes": 900, "limerick": 160, "gerrold.limerick": 81, "zippy": 160, "startrek": 120,
        "murphy": 120}


def family_rows(demo_dir: Path) -> list[dict]:
    """Rows with a ``family`` field: the fortune file without ``-o`` (fortunes and fortunes-o
    are one family), evenly thinned to ``KEEP`` entries per family."""
    by_family: dict[str, list[dict]] = {}
    for r in read_jsonl(demo_dir / "corpus" / "fortunes.jsonl"):
        fam = r["source"].split("/", 1)[1].removesuffix("-o")
        label = "offensive" if "limerick" in fam else r["label"]
        by_family.setdefault(fam, []).append({**r, "family": fam, "label": label})
    rows = []
    for fam, keep in KEEP.items():
        got = by_family[fam]
        step = max(1, len(got) // keep)
        rows += got[::step][:keep]
    return rows


def write_family_jsonl(demo_dir: Path, path: Path) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        for r in family_rows(demo_dir):
            f.write(json.dumps(r) + "\n")
    return path
