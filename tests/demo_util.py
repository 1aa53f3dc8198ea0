"""Helpers shared by tests (a plain module: `conftest` names are ambiguous across folders)."""

from __future__ import annotations

import json
from pathlib import Path


def read_jsonl(path: Path, limit: int | None = None) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            rows.append(json.loads(line))
            if limit is not None and len(rows) >= limit:
                break
    return rows
