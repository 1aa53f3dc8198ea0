"""Beam side of tokenization: documents -> token shards + manifest.

``TokenizeToShards`` is the last stage of ``gristmill run`` (when the config has a
``tokenize:`` section) and the whole of ``gristmill tokenize`` (kept Parquet in front).
The placement rules live in ``gristmill.tokenize.shards`` so that this transform and the
plain-Python ``write_shards`` write the same bytes for the same documents:

    Encode (batches of documents, tokenizer loaded once per worker in setup; elements stay
            batches from here on, since Beam's cost is per element)
      -> split by hash(id); tokens per split (CombinePerKey)
      -> bucket = hash(id) mod ceil(split tokens / shard_tokens)     (side input)
      -> GroupByKey(split, bucket) -> pack sorted by id, write a temp-named file
      -> ToList -> rename to <split>-NNNNN.arrow, write manifest.json (single step)
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable

import apache_beam as beam
import numpy as np
from apache_beam.metrics import Metrics
from apache_beam.utils import shared

from gristmill.config import TokenizeConfig
from gristmill.pipelines import progress
from gristmill.pipelines.beam_util import NAMESPACE
from gristmill.tokenize import shards as sh

_TOKENIZERS = shared.Shared()


class _Holder:
    """Shared.acquire needs a weak-referenceable object; a Tokenizer wrapped in one."""

    def __init__(self, tok) -> None:
        self.tok = tok


class _EncodeFn(beam.DoFn):
    """A batch of (id, text) -> (split, [(id, token bytes), ...]) per split present.

    Elements stay batches from here to the shard writer: Beam's cost is per element, and a
    per-document element costs about as much as encoding a short document.
    """

    def __init__(self, cfg: TokenizeConfig, dtype: str) -> None:
        self.cfg = cfg
        self.dtype = np.dtype(dtype)
        self.docs = Metrics.counter(NAMESPACE, "tokenize.documents")
        self.tokens = Metrics.counter(NAMESPACE, "tokenize.tokens")

    def setup(self) -> None:
        from gristmill.tokenize import load_tokenizer

        spec = self.cfg.tokenizer
        # One tokenizer per worker process, shared by its threads; never pickled.
        self.tok = _TOKENIZERS.acquire(lambda: _Holder(load_tokenizer(spec)), tag=spec).tok

    def process(self, batch: list[tuple[str, str]]):
        arrays = self.tok.encode_arrays([text for _, text in batch], self.dtype)
        by_split: dict[str, list[tuple[str, bytes]]] = {}
        n_tokens = 0
        for (doc_id, _), arr in zip(batch, arrays, strict=True):
            split = sh.split_of(doc_id, self.cfg.val_fraction, self.cfg.seed)
            # Raw native-endian bytes: Beam's coders ship bytes natively, arrays via pickle.
            by_split.setdefault(split, []).append((doc_id, arr.tobytes()))
            n_tokens += arr.size + 1
        self.docs.inc(len(batch))
        self.tokens.inc(n_tokens)
        progress.count("tokenize.documents", len(batch))
        progress.count("tokenize.tokens", n_tokens)
        yield from by_split.items()


def _split_tokens(kv: tuple[str, list[tuple[str, bytes]]], itemsize: int) -> tuple[str, int]:
    """(split, tokens of this batch including one EOS per document)."""
    split, items = kv
    return split, sum(len(b) // itemsize + 1 for _, b in items)


def _assign(kv, totals: dict[str, int], shard_tokens: int, seed: int):
    """(split, batch) -> ((split, bucket), part of the batch) per bucket it touches."""
    split, items = kv
    n = sh.num_shards_for(totals[split], shard_tokens)
    parts: dict[int, list[tuple[str, bytes]]] = {}
    for doc_id, toks in items:
        parts.setdefault(sh.bucket_of(doc_id, n, seed), []).append((doc_id, toks))
    for bucket, part in parts.items():
        yield (split, bucket), part


class _WriteBucketFn(beam.DoFn):
    def __init__(self, out_dir: str, eos_id: int, dtype: str) -> None:
        self.out_dir, self.eos_id, self.dtype = out_dir, eos_id, np.dtype(dtype)

    def process(self, kv: tuple[tuple[str, int], Iterable[list[tuple[str, bytes]]]]):
        (split, bucket), parts = kv
        os.makedirs(self.out_dir, exist_ok=True)
        docs = list(itertools.chain.from_iterable(parts))
        yield sh.write_bucket(self.out_dir, split, bucket, docs, self.eos_id, self.dtype)
        progress.count("tokenize.shards")


class _ShardsTransform(beam.PTransform):
    def __init__(self, cfg: TokenizeConfig, output_dir: str) -> None:
        super().__init__()
        if "://" in output_dir:
            raise ValueError(f"tokenize output {output_dir!r} must be a local path: shards are "
                             f"memory-mapped by the trainer; copy them from local disk after")
        self.cfg = cfg
        self.output_dir = output_dir


class TokenizeToShards(_ShardsTransform):
    """PCollection[Document] -> token shards and manifest.json in ``output_dir``.

    Returns a one-element PCollection holding the manifest. ``output_dir`` must be a local
    (or mounted) path: the trainer memory-maps the shards.
    """

    def expand(self, docs):
        return (
            docs
            | "BatchDocs" >> beam.BatchElements(min_batch_size=1,
                                                max_batch_size=self.cfg.batch_size)
            | "IdText" >> beam.Map(lambda batch: [(d.id, d.text) for d in batch])
            | "ToShards" >> BatchesToShards(self.cfg, self.output_dir)
        )


class BatchesToShards(_ShardsTransform):
    """PCollection[list[(id, text)]] -> shards: the body of TokenizeToShards, for sources that
    already read in batches (``gristmill tokenize`` reads Parquet record batches)."""

    def expand(self, batches):
        from gristmill.tokenize import load_tokenizer

        cfg, out = self.cfg, self.output_dir
        # The driver loads the tokenizer once for the manifest entry and dtype (small, picklable);
        # workers load their own in setup().
        info = sh.normalize_tokenizer_info(load_tokenizer(cfg.tokenizer))
        dtype = sh.token_dtype(info["vocab_size"]).name
        encoded = batches | "Encode" >> beam.ParDo(_EncodeFn(cfg, dtype))
        totals = (
            encoded
            | "TokensOf" >> beam.Map(_split_tokens, np.dtype(dtype).itemsize)
            | "TokensPerSplit" >> beam.CombinePerKey(sum)
        )
        pending = (
            encoded
            | "AssignShard" >> beam.FlatMap(_assign, totals=beam.pvalue.AsDict(totals),
                                            shard_tokens=cfg.shard_tokens, seed=cfg.seed)
            | "GroupShard" >> beam.GroupByKey()
            | "WriteShard" >> beam.ParDo(_WriteBucketFn(out, info["eos_id"], dtype))
        )

        def _finalize(records: list[dict]) -> dict:
            os.makedirs(out, exist_ok=True)
            return sh.finalize(out, records, info, shard_tokens=cfg.shard_tokens,
                               val_fraction=cfg.val_fraction, seed=cfg.seed)

        return (
            pending
            | "CollectShards" >> beam.combiners.ToList()
            | "WriteManifest" >> beam.Map(_finalize)
        )


def _table_batches(table, batch_size: int):
    """A Parquet record batch table -> lists of (id, text) of at most ``batch_size``."""
    for rb in table.to_batches(max_chunksize=batch_size):
        ids = rb.column("id").to_pylist()
        texts = rb.column("text").to_pylist()
        yield list(zip(ids, texts, strict=True))


def run_tokenize(input_dir: str, output_dir: str, cfg: TokenizeConfig, workers: int = 1,
                 runner: str | None = None, extra_args: list[str] | None = None,
                 overwrite: bool = False, progress_every: float = progress.DEFAULT_EVERY) -> dict:
    """``gristmill tokenize``: kept Parquet (``RUN_DIR/kept``, ``RUN_DIR`` or a glob) -> shards.
    Returns the manifest. A local output gets the run-directory rules (``rundir``): marker,
    lock, ``--overwrite`` only of what gristmill wrote, crash-safe replacement. Progress is
    logged every ``progress_every`` seconds (0: off)."""
    from apache_beam.io.filesystems import FileSystems

    from gristmill.pipelines import rundir

    pattern = input_dir
    if os.path.isdir(os.path.join(input_dir, "kept")):  # a run directory
        input_dir = os.path.join(input_dir, "kept")
    if os.path.isdir(input_dir):
        pattern = os.path.join(input_dir, "*.parquet")
    if not FileSystems.match([pattern])[0].metadata_list:
        raise FileNotFoundError(f"no Parquet files match {pattern} (expected RUN_DIR/kept)")
    out = output_dir.rstrip("/") or output_dir
    if "://" in out:
        return _tokenize_into(pattern, out, cfg, workers, runner, extra_args, progress_every)
    rundir.check_replaceable(out, overwrite)
    info = {"gristmill": "tokenize", "tokenizer": cfg.tokenizer}
    with rundir.new_run_dir(out, [pattern], overwrite, info, complete_file=sh.MANIFEST) as work:
        _tokenize_into(pattern, work, cfg, workers, runner, extra_args, progress_every)
    return sh.read_manifest(out)


def _tokenize_into(pattern: str, output_dir: str, cfg: TokenizeConfig, workers: int,
                   runner: str | None, extra_args: list[str] | None, progress_every: float) -> dict:
    from gristmill.pipelines.beam_util import make_pipeline

    p = make_pipeline(runner, workers, extra_args)
    (
        p
        | "ReadKept" >> beam.io.ReadFromParquetBatched(pattern, columns=["id", "text"])
        | "Batches" >> beam.FlatMap(_table_batches, cfg.batch_size)
        | "Spread" >> beam.Reshuffle()
        | "Tokenize" >> BatchesToShards(cfg, output_dir)
    )
    with progress.report("tokenize", os.path.join(output_dir, "_progress"), progress_every,
                         main="tokenize.documents"):
        p.run().wait_until_finish()
    return sh.read_manifest(output_dir)
