"""Beam side of tokenization: documents -> token shards + manifest.

``TokenizeToShards`` is the last stage of ``gristmill run`` (when the config has a
``tokenize:`` section) and the whole of ``gristmill tokenize`` (kept Parquet in front).
The placement rules live in ``gristmill.tokenize.shards`` so that this transform and the
plain-Python ``write_shards`` write the same bytes for the same documents:

    Encode (batches of documents, tokenizer loaded once per worker in setup)
      -> split by hash(id); token arrays written to spill files (sorted by id, one per split
         per flush); only (split, path, tokens) travels on
      -> tokens per split (CombinePerKey)
      -> per spill file: bucket = hash(id) mod ceil(split tokens / shard_tokens) (side input),
         one sorted run file per bucket; only ((split, bucket), run path) travels on
      -> GroupByKey(split, bucket) of run paths -> merge the runs, pack, write a temp-named file
      -> ToList -> rename to <split>-NNNNN.arrow, write manifest.json (single step)

The token arrays never go through the runner (the local runner holds a shuffle in memory:
grouping them cost ~1.7 GB at 1M documents): like dedup's documents and the writers' records,
they go to files under ``<output>/.spill`` (removed with the manifest's step), and memory
is bounded by a flush (``SPILL_TOKEN_BYTES``) and one shard's array (``shard_tokens``, filled
in place as the merge streams), never by the corpus.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator

import apache_beam as beam
import numpy as np
from apache_beam.metrics import Metrics
from apache_beam.utils import shared

from gristmill.config import InputConfig, TokenizeConfig
from gristmill.pipelines import progress
from gristmill.pipelines.beam_util import NAMESPACE, in_global_window
from gristmill.pipelines.spill_group import bounded_merge
from gristmill.tokenize import shards as sh

SPILL_DIR = ".spill"
# A worker writes its buffered token arrays to a spill file at this many bytes (per bundle).
SPILL_TOKEN_BYTES = 16 << 20
_SPENT = "spent"

_TOKENIZERS = shared.Shared()


class _Holder:
    """Shared.acquire needs a weak-referenceable object; a Tokenizer wrapped in one."""

    def __init__(self, tok) -> None:
        self.tok = tok


class _EncodeFn(beam.DoFn):
    """Batches of (id, text) -> token arrays in spill files; emits (split, path, tokens) per
    file written.

    A bundle buffers the arrays of each split up to ``SPILL_TOKEN_BYTES`` in all, then writes
    each split's part sorted by id (``_write_tokens``). Files get fresh names, so a retried
    bundle never collides with its failed attempt.
    """

    def __init__(self, cfg: TokenizeConfig, dtype: str, spill_dir: str) -> None:
        self.cfg = cfg
        self.dtype = np.dtype(dtype)
        self.spill_dir = spill_dir
        self.docs = Metrics.counter(NAMESPACE, "tokenize.documents")
        self.tokens = Metrics.counter(NAMESPACE, "tokenize.tokens")
        self.spilled = Metrics.counter(NAMESPACE, "spill.bytes")

    def setup(self) -> None:
        from gristmill.tokenize import load_tokenizer

        spec = self.cfg.tokenizer
        # One tokenizer per worker process, shared by its threads; never pickled.
        self.tok = _TOKENIZERS.acquire(lambda: _Holder(load_tokenizer(spec)), tag=spec).tok

    def start_bundle(self) -> None:
        self.by_split: dict[str, list[tuple[str, bytes]]] = {}
        self.buffered = 0

    def process(self, batch: list[tuple[str, str]]):
        arrays = self.tok.encode_arrays([text for _, text in batch], self.dtype)
        n_tokens = 0
        for (doc_id, _), arr in zip(batch, arrays, strict=True):
            split = sh.split_of(doc_id, self.cfg.val_fraction, self.cfg.seed)
            # Raw native-endian bytes: what the spill files and write_bucket take.
            self.by_split.setdefault(split, []).append((doc_id, arr.tobytes()))
            n_tokens += arr.size + 1
            self.buffered += arr.nbytes + len(doc_id)
        self.docs.inc(len(batch))
        self.tokens.inc(n_tokens)
        progress.count("tokenize.documents", len(batch))
        progress.count("tokenize.tokens", n_tokens)
        if self.buffered >= SPILL_TOKEN_BYTES:
            yield from self._flush()

    def _flush(self) -> list[tuple[str, str, int]]:
        out = []
        for split, items in sorted(self.by_split.items()):
            items.sort()
            path = os.path.join(self.spill_dir, f"enc-{split}-{uuid.uuid4().hex}.arrow")
            self.spilled.inc(_write_tokens(path, items))
            out.append((split, path, _tokens_with_eos(items, self.dtype.itemsize)))
        self.by_split, self.buffered = {}, 0
        return out

    def finish_bundle(self):
        for v in self._flush():
            yield in_global_window(v)


def _tokens_with_eos(items: list[tuple[str, bytes]], itemsize: int) -> int:
    """Tokens of (id, token bytes) pairs, one EOS per document included: what they take in a shard."""
    return sum(len(t) // itemsize + 1 for _, t in items)


def _remove(path: str) -> None:
    """Delete a spent spill file; one already gone (the spill directory was removed with the
    manifest's step, which may run first) is fine."""
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)


def remove_spill(output_dir: str) -> None:
    """Remove what is left of the spill directory after the pipeline (a crashed run's files)."""
    shutil.rmtree(os.path.join(output_dir, SPILL_DIR), ignore_errors=True)


_ROWS_PER_BATCH = 1024  # a merge holds one batch of each run


def _write_tokens(path: str, items: Iterable[tuple[str, bytes]]) -> int:
    """(id, token bytes) pairs, sorted by id, as an Arrow IPC file of small record batches,
    written as they come (an intermediate merge streams through here); returns its size."""
    import pyarrow as pa

    os.makedirs(os.path.dirname(path), exist_ok=True)
    schema = pa.schema([("id", pa.string()), ("tokens", pa.large_binary())])
    it = iter(items)
    with pa.OSFile(path, "wb") as f, pa.ipc.new_file(f, schema) as w:
        while chunk := list(itertools.islice(it, _ROWS_PER_BATCH)):
            w.write_batch(pa.record_batch([[i for i, _ in chunk], [t for _, t in chunk]], schema=schema))
    return os.path.getsize(path)


def _read_tokens(path: str) -> Iterator[tuple[str, bytes]]:
    """The pairs of a file ``_write_tokens`` wrote, in order, a record batch at a time."""
    import pyarrow as pa

    with pa.memory_map(path) as src:
        reader = pa.ipc.open_file(src)
        for k in range(reader.num_record_batches):
            rb = reader.get_batch(k)
            yield from zip(rb.column(0).to_pylist(), rb.column(1).to_pylist(), strict=True)


class _BucketRunsFn(beam.DoFn):
    """One encode spill file -> one sorted run file per shard bucket it touches; emits
    ((split, bucket), (run path, tokens in it, EOS included)), and the spill file as spent."""

    def __init__(self, shard_tokens: int, seed: int, dtype: str) -> None:
        self.shard_tokens, self.seed, self.itemsize = shard_tokens, seed, np.dtype(dtype).itemsize
        self.spilled = Metrics.counter(NAMESPACE, "spill.bytes")

    def process(self, item: tuple[str, str, int], totals: dict[str, int]):
        split, path, _ = item
        n = sh.num_shards_for(totals[split], self.shard_tokens)
        parts: dict[int, list[tuple[str, bytes]]] = {}
        for doc_id, toks in _read_tokens(path):  # sorted by id, so each part is too
            parts.setdefault(sh.bucket_of(doc_id, n, self.seed), []).append((doc_id, toks))
        for bucket, part in sorted(parts.items()):
            run = f"{path[:-len('.arrow')]}-b{bucket:05d}.arrow"
            self.spilled.inc(_write_tokens(run, part))
            yield (split, bucket), (run, _tokens_with_eos(part, self.itemsize))
        yield beam.pvalue.TaggedOutput(_SPENT, path)


class _WriteBucketFn(beam.DoFn):
    """One bucket: merge its sorted runs (by id) straight into a shard array allocated at its
    final size (the runs' token counts add up to it); the runs are then spent. Memory is one
    shard's tokens (``shard_tokens`` x 2 or 4 bytes) and ids, whatever the corpus."""

    def __init__(self, out_dir: str, eos_id: int, dtype: str) -> None:
        self.out_dir, self.eos_id, self.dtype = out_dir, eos_id, np.dtype(dtype)

    def process(self, kv: tuple[tuple[str, int], Iterable[tuple[str, int]]]):
        (split, bucket), runs_tokens = kv
        runs_tokens = sorted(runs_tokens)
        runs = [r for r, _ in runs_tokens]
        os.makedirs(self.out_dir, exist_ok=True)
        docs = bounded_merge(runs, _read_tokens, lambda items, path: _write_tokens(path, items))
        yield sh.write_sorted_bucket(self.out_dir, split, bucket, docs,
                                     sum(t for _, t in runs_tokens), self.eos_id, self.dtype)
        progress.count("tokenize.shards")
        for r in runs:
            yield beam.pvalue.TaggedOutput(_SPENT, r)


class _ShardsTransform(beam.PTransform):
    def __init__(self, cfg: TokenizeConfig, output_dir: str, spill_dir: str | None = None) -> None:
        """``spill_dir``: where token arrays wait between the steps (default
        ``<output_dir>/.spill``; local, like the output), removed when the manifest is written."""
        super().__init__()
        if "://" in output_dir:
            raise ValueError(f"tokenize output {output_dir!r} must be a local path: shards are "
                             f"memory-mapped by the trainer; copy them from local disk after")
        self.cfg = cfg
        self.output_dir = output_dir
        self.spill_dir = spill_dir or os.path.join(output_dir, SPILL_DIR)


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
            | "ToShards" >> BatchesToShards(self.cfg, self.output_dir, self.spill_dir)
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
        spill_dir = self.spill_dir
        encoded = (
            batches
            | "Encode" >> beam.ParDo(_EncodeFn(cfg, dtype, spill_dir))
            | "SpreadSpillFiles" >> beam.Reshuffle()
        )
        totals = (
            encoded
            | "TokensOf" >> beam.Map(lambda e: (e[0], e[2]))
            | "TokensPerSplit" >> beam.CombinePerKey(sum)
        )
        runs = encoded | "BucketRuns" >> beam.ParDo(
            _BucketRunsFn(cfg.shard_tokens, cfg.seed, dtype), totals=beam.pvalue.AsDict(totals)
        ).with_outputs(_SPENT, main="runs")
        written = (
            runs.runs
            | "GroupShard" >> beam.GroupByKey()
            | "WriteShard" >> beam.ParDo(_WriteBucketFn(out, info["eos_id"], dtype)).with_outputs(
                _SPENT, main="records")
        )
        # A spill file goes once the bundle that read it is committed (a retry must find it).
        # (No Flatten of the two: a stage with a side input feeding a Flatten into a shuffle
        # is never scheduled by the local runner, see pipelines/dedup.py.)
        runs[_SPENT] | "CommitEncoded" >> beam.Reshuffle() | "DeleteEncoded" >> beam.Map(_remove)
        written[_SPENT] | "CommitRuns" >> beam.Reshuffle() | "DeleteRuns" >> beam.Map(_remove)
        pending = written.records

        def _finalize(records: list[dict]) -> dict:
            os.makedirs(out, exist_ok=True)
            shutil.rmtree(spill_dir, ignore_errors=True)  # every spill file has been read
            return sh.finalize(out, records, info, shard_tokens=cfg.shard_tokens,
                               val_fraction=cfg.val_fraction, seed=cfg.seed)

        return (
            pending
            | "CollectShards" >> beam.combiners.ToList()
            | "WriteManifest" >> beam.Map(_finalize)
        )


def _read_kept_range(r, batch_size: int) -> Iterator[list[tuple[str, str]]]:
    """One range of row groups of a kept Parquet file (``readers.split_file``) -> lists of
    (id, text) of at most ``batch_size``."""
    from gristmill.pipelines.readers import parquet_batches

    groups = None if r.start == 0 and r.end is None else (r.start, r.end)
    for rb in parquet_batches(r.file.path, ["id", "text"], batch_size, groups=groups):
        yield list(zip(rb.column("id").to_pylist(), rb.column("text").to_pylist(), strict=True))


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
    from gristmill.pipelines.readers import expand_inputs, split_file

    p = make_pipeline(runner, workers, extra_args)
    # Only the ranges (row groups, ``input.split_bytes`` each, as ``gristmill run`` reads
    # Parquet) are spread over the workers, which read the texts themselves: spreading the
    # texts (a Reshuffle of the read batches) made the local runner hold the whole kept corpus.
    split_bytes = InputConfig().split_bytes
    ranges = [r for f in expand_inputs([pattern]) for r in split_file(f, "parquet", split_bytes)]
    (
        p
        | "KeptRanges" >> beam.Create(ranges)
        | "Spread" >> beam.Reshuffle()
        | "ReadKept" >> beam.FlatMap(_read_kept_range, cfg.batch_size)
        | "Tokenize" >> BatchesToShards(cfg, output_dir)
    )
    with progress.report("tokenize", os.path.join(output_dir, "_progress"), progress_every,
                         main="tokenize.documents"):
        p.run().wait_until_finish()
    remove_spill(output_dir)
    return sh.read_manifest(output_dir)
