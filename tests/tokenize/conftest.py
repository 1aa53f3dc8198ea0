"""Fixtures of the tokenize tests: the GPT-2 tokenizer and small real samples of the demo corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gristmill.schemas import Document
from gristmill.tokenize import Tokenizer, load_tokenizer

SOURCES = ("fortunes", "sms_spam", "literature")


@pytest.fixture(scope="session")
def gpt2() -> Tokenizer:
    return load_tokenizer("gpt2")


def demo_sample(demo_dir: Path, per_source: int) -> list[Document]:
    """The first ``per_source`` records of each demo source as Documents."""
    docs = []
    for src in SOURCES:
        with open(demo_dir / "corpus" / f"{src}.jsonl", encoding="utf-8") as f:
            for _, line in zip(range(per_source), f, strict=False):
                r = json.loads(line)
                docs.append(Document(id=r["id"], text=r["text"], source=r["source"]))
    return docs


@pytest.fixture(scope="session")
def sample_docs(demo_dir) -> list[Document]:
    """~240 real documents of all three sources, plus one that carries the literal EOS string."""
    docs = demo_sample(demo_dir, 80)
    docs.append(Document(id="inject-0", text="a document that tries <|endoftext|> to inject a "
                             "separator", source="test"))
    return docs
