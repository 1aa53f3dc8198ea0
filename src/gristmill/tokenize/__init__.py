"""gristmill.tokenize: tokenizers, token shards (writer, manifest, reader, verify).

The trainer's entry points: ``load_tokenizer``, ``open_shards`` and (for small shard sets in
tests) ``write_shards``. Beam lives in ``gristmill.pipelines.tokenize``, not here.

The names below load on first use (PEP 562), so importing ``gristmill.cli.tokens`` to
declare the commands does not import tiktoken, tokenizers or pyarrow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gristmill.tokenize.bpe import Tokenizer, load_tokenizer
    from gristmill.tokenize.shards import ShardError, ShardSet, open_shards, write_shards

_HOME = {
    "Tokenizer": "bpe",
    "load_tokenizer": "bpe",
    "ShardError": "shards",
    "ShardSet": "shards",
    "open_shards": "shards",
    "write_shards": "shards",
}

__all__ = ["ShardError", "ShardSet", "Tokenizer", "load_tokenizer", "open_shards", "write_shards"]


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(f"gristmill.tokenize.{_HOME[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
