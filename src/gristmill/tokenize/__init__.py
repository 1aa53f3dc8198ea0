"""gristmill.tokenize: tokenizers, token shards (writer, manifest, reader, verify).

The trainer's entry points: ``load_tokenizer``, ``open_shards`` and (for small shard sets in
tests) ``write_shards``. Beam lives in ``gristmill.pipelines.tokenize``, not here.
"""

from gristmill.tokenize.bpe import Tokenizer, load_tokenizer
from gristmill.tokenize.shards import ShardError, ShardSet, open_shards, write_shards

__all__ = ["ShardError", "ShardSet", "Tokenizer", "load_tokenizer", "open_shards", "write_shards"]
