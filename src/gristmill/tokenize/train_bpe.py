"""``gristmill tokenizer train``: a byte-level BPE trained on the kept corpus with HF tokenizers.

Byte-level (GPT-2 style) so every string encodes without an unknown token; the 256 byte
symbols are always in the vocabulary. Special tokens come first (``<|endoftext|>`` = id 0,
then ``<|pad|>``) so their ids do not depend on the corpus. The result is a plain
``tokenizer.json`` that ``load_tokenizer(PATH)`` and ``transformers.PreTrainedTokenizerFast``
both load.
"""

from __future__ import annotations

import glob
import logging
import os
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import tokenizers
from tokenizers import decoders, models, pre_tokenizers, processors, trainers

from gristmill.tokenize.bpe import GPT2_EOS

PAD = "<|pad|>"
SPECIAL_TOKENS = (GPT2_EOS, PAD)
MIN_VOCAB = 256 + len(SPECIAL_TOKENS)
log = logging.getLogger("gristmill")


def kept_files(input_path: str) -> list[str]:
    """Parquet files of ``RUN_DIR/kept`` (a directory), a run directory, or a glob."""
    p = Path(input_path)
    if p.is_dir():
        sub = p / "kept" if (p / "kept").is_dir() else p
        files = sorted(str(f) for f in sub.glob("*.parquet"))
    else:
        files = sorted(glob.glob(input_path))
    if not files:
        raise FileNotFoundError(f"no Parquet files under {input_path} (expected RUN_DIR/kept)")
    return files


def iter_texts(files: list[str], batch_rows: int = 1024) -> Iterator[list[str]]:
    """Batches of the ``text`` column, streamed (no whole corpus in memory)."""
    for f in files:
        pf = pq.ParquetFile(f)
        if "text" not in pf.schema_arrow.names:
            raise ValueError(f"{f} has no 'text' column; expected kept documents")
        for batch in pf.iter_batches(batch_size=batch_rows, columns=["text"]):
            yield batch.column(0).to_pylist()


def train_bpe(files: list[str], vocab_size: int, out: str | Path, min_frequency: int = 2,
              show_progress: bool | None = None) -> tokenizers.Tokenizer:
    """Train a byte-level BPE on ``files`` and write it to ``out`` (temp name, then rename).

    Logs what it trains on, then how long it took; HF tokenizers' own bar (``show_progress``)
    is shown by default only on a terminal, where its carriage returns belong."""
    if vocab_size < MIN_VOCAB:
        raise ValueError(f"vocab size {vocab_size} is below {MIN_VOCAB} "
                         f"(256 bytes + {len(SPECIAL_TOKENS)} special tokens)")
    tok = tokenizers.Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=[tokenizers.AddedToken(s, special=True, normalized=False)
                        for s in SPECIAL_TOKENS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=(sys.stderr.isatty() and log.isEnabledFor(logging.INFO)
                       if show_progress is None else show_progress),
    )
    total = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    log.info("tokenizer train: byte-level BPE, vocab %d, min frequency %d, on %s documents in %d "
             "Parquet file(s)", vocab_size, min_frequency, f"{total:,}", len(files))
    t0 = time.perf_counter()
    tok.train_from_iterator(iter_texts(files), trainer=trainer, length=total)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{uuid.uuid4().hex[:8]}")
    tok.save(str(tmp))
    os.replace(tmp, out)
    log.info("tokenizer train: done in %.1f s (vocab %d) -> %s", time.perf_counter() - t0,
             tok.get_vocab_size(), out)
    return tok
