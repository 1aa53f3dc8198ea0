"""``gristmill run``: build and run the corpus pipeline, then write ``summary.json``.

Read -> Parse (bad records to errors) -> Extract (HTML to text) -> Normalize -> ApplyFilters -> Deduplicate ->
Write (kept / rejected / errors Parquet) [-> TokenizeToShards]. The output directory is
written under ``<output>.partial`` and renamed when complete, so a crashed run never leaves
a directory that looks finished; a rerun removes the partial one and starts clean.
"""

from __future__ import annotations

import contextlib
import logging
import platform
import shutil
import time
from importlib import metadata as importlib_metadata

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from gristmill import __version__
from gristmill.config import PipelineConfig
from gristmill.errors import UserError
from gristmill.extract import make_extractor
from gristmill.filters.base import filter_class
from gristmill.filters.chain import FilterChain
from gristmill.pipelines import progress, rundir
from gristmill.pipelines import summary as summ
from gristmill.pipelines.accounting import PeakRss
from gristmill.pipelines.beam_util import LOCAL_RUNNERS, NAMESPACE, make_pipeline
from gristmill.pipelines.extract import ExtractMainText, extractor_spec
from gristmill.pipelines.preflight import check_tokenizer
from gristmill.pipelines.readers import expand_inputs
from gristmill.pipelines.transforms import (
    ERRORS,
    REJECTED,
    SKIPPED,
    ApplyFilters,
    Normalize,
    ParseRecords,
)
from gristmill.pipelines.write_shards import TMP_DIR, WriteShards, write_empty_kinds

log = logging.getLogger("gristmill")

def build(p: beam.Pipeline, inputs: list[str], out_dir: str, cfg: PipelineConfig) -> None:
    files = expand_inputs(inputs)
    parsed = p | "ReadAndParse" >> ParseRecords(files, cfg.input, tmp_dir=FileSystems.join(out_dir, TMP_DIR, "ids"))
    (
        parsed["records"]
        | "CountInput" >> beam.combiners.Count.Globally()
        | "WriteInputCount" >> beam.Map(
            lambda n: summ.write_json(FileSystems.join(out_dir, "_stats", "input_records.json"), {"input_records": n})
        )
    )
    (
        parsed[SKIPPED]
        | "SkippedKind" >> beam.Map(lambda r: r.kind)
        | "CountSkipped" >> beam.combiners.Count.PerElement()
        | "SkippedAsList" >> beam.combiners.ToList()
        | "WriteSkipped" >> beam.Map(
            lambda kv: summ.write_json(FileSystems.join(out_dir, "_stats", "skipped_records.json"), dict(sorted(kv)))
        )
    )
    extracted = parsed["docs"] | "Extract" >> ExtractMainText(cfg.extract)
    normed = extracted["docs"] | "Normalize" >> Normalize(cfg.normalize)
    specs = [s.model_dump() for s in cfg.filters]
    filtered = normed["docs"] | "ApplyFilters" >> ApplyFilters(specs)
    rejected = [extracted[REJECTED], normed[REJECTED], filtered[REJECTED]]
    errors = [parsed[ERRORS], extracted[ERRORS], normed[ERRORS], filtered[ERRORS]]
    kept = filtered["docs"]
    if cfg.dedup is not None and (cfg.dedup.exact is not None or cfg.dedup.minhash is not None):
        from gristmill.pipelines.dedup import Deduplicate

        dd = kept | "Deduplicate" >> Deduplicate(cfg.dedup, spill_dir=FileSystems.join(out_dir, TMP_DIR, "dedup"))
        kept = dd["kept"]
        rejected.append(dd["rejected"])
        errors.append(dd["errors"])
    n, comp = cfg.output.num_shards, cfg.output.compression
    kept | "WriteKept" >> WriteShards("kept", out_dir, n, comp)
    # Not flattened first: each stage's records go to sorted runs where they are made (WriteShards).
    tuple(rejected) | "WriteRejected" >> WriteShards("rejected", out_dir, n, comp)
    tuple(errors) | "WriteErrors" >> WriteShards("errors", out_dir, n, comp)
    if cfg.tokenize is not None:
        from gristmill.pipelines.tokenize import TokenizeToShards

        kept | "Tokenize" >> TokenizeToShards(cfg.tokenize, FileSystems.join(out_dir, "shards"),
                                              spill_dir=FileSystems.join(out_dir, TMP_DIR, "tokens"))


def _memory(mem: PeakRss, metrics: dict[str, int], runner: str | None) -> dict:
    """``peak_rss_bytes`` (this process and its workers: accounting.PeakRss) and
    ``spill_bytes`` (written to scratch files, from the ``spill.bytes`` counter). On a
    cluster runner the workers are elsewhere: the peak is then the launcher's only."""
    local = runner in LOCAL_RUNNERS
    log.info("peak memory %.2f GB (%s, %d processes%s); %.2f GB written to scratch files",
             mem.peak_bytes / 1e9, mem.method, mem.peak_processes, "" if local else ", launcher only",
             metrics.get("spill.bytes", 0) / 1e9)
    return {
        "peak_rss_bytes": mem.peak_bytes,
        "peak_rss_method": mem.method if local else f"{mem.method}, launcher only (workers are remote)",
        "spill_bytes": metrics.get("spill.bytes", 0),
    }


def _versions(cfg: PipelineConfig) -> dict:
    v = {"gristmill": __version__, "python": platform.python_version()}
    for pkg in ("apache-beam", "pyarrow", "numpy", "datasketch", "tokenizers", "fasttext-community"):
        with contextlib.suppress(importlib_metadata.PackageNotFoundError):
            v[pkg] = importlib_metadata.version(pkg)
    v["filters"] = {s.name: filter_class(s.name).version for s in cfg.filters}
    if cfg.extract is not None:  # without the section, versions stay as they were
        name, options = extractor_spec(cfg.extract)
        v["extract"] = make_extractor(name, **options).describe()  # name, version, effective options
    return v


def _metrics(result) -> dict[str, int]:
    try:
        counters = result.metrics().query()["counters"]
    except Exception:  # some runners do not report metrics
        return {}
    out: dict[str, int] = {}
    for c in counters:
        if c.key.metric.namespace == NAMESPACE:
            out[c.key.metric.name] = out.get(c.key.metric.name, 0) + int(c.committed or c.attempted or 0)
    return dict(sorted(out.items()))


class PipelineSetupError(UserError, RuntimeError):
    """A stage cannot start (a missing or corrupt model, bad filter parameters)."""


def check_stages(config: PipelineConfig) -> None:
    """Build the filter chain and load its resources once, before any document is read.

    A missing or corrupt model then fails the run at once with its own message, instead of
    as a traceback from inside a Beam worker after the input has been read. In-process runs
    reuse what was loaded here (models are cached per process). A built-in model missing from
    the cache is built here, once, before any document is read (``classify.builtin``).
    """
    specs = [s.model_dump() for s in config.filters]
    try:
        FilterChain.from_specs(specs).setup()
    except Exception as e:
        raise PipelineSetupError(f"filter setup failed: {e}") from e
    name, options = extractor_spec(config.extract)
    try:
        make_extractor(name, **options)
    except Exception as e:  # e.g. the library is not installed, or an option it refuses
        raise PipelineSetupError(f"extract: extractor {name} cannot start: {e}") from e
    check_tokenizer(config)


def _remove_scratch(path: str) -> None:
    """Delete a finished run's scratch directory (local or on a remote filesystem)."""
    if "://" not in path:
        shutil.rmtree(path, ignore_errors=True)
    elif FileSystems.exists(path):
        FileSystems.delete([path])


def _marker_info(config: PipelineConfig) -> dict:
    return {"gristmill": __version__, "config_hash": config.digest()}


def _start_remote(out: str, overwrite: bool, config: PipelineConfig) -> str:
    """Object stores have no atomic rename: the run is written in place, and ``--overwrite``
    still needs the marker that says gristmill made what is there."""
    if FileSystems.exists(out):
        if not overwrite:
            raise FileExistsError(f"output directory {out} exists; pass --overwrite to replace it")
        if not FileSystems.exists(FileSystems.join(out, rundir.MARKER)):
            raise rundir.UnsafeOutput(f"--overwrite refused: {out} has no {rundir.MARKER} marker, "
                                      "so gristmill did not create it")
    summ.write_json(FileSystems.join(out, rundir.MARKER), _marker_info(config))
    return out


def run_pipeline(
    inputs: list[str],
    output_dir: str,
    config: PipelineConfig,
    workers: int = 1,
    runner: str | None = None,
    overwrite: bool = False,
    extra_args: list[str] | None = None,
    progress_every: float = progress.DEFAULT_EVERY,
) -> dict:
    """Run the pipeline and return the summary (also written to ``summary.json``).

    Locally the run is written to ``<output>.partial`` under ``<output>.lock`` and swapped in
    when complete (``rundir`` says why each step is safe). Progress is logged every
    ``progress_every`` seconds (0: off; ``progress`` says how).
    """
    out = output_dir.rstrip("/") or output_dir
    if "://" in out:
        check_stages(config)
        work = _start_remote(out, overwrite, config)
        return _run_in(work, inputs, config, workers, runner, extra_args, progress_every)
    rundir.check_output_location(out, inputs)
    rundir.check_replaceable(out, overwrite)  # checked again under the lock
    check_stages(config)
    with rundir.new_run_dir(out, inputs, overwrite, _marker_info(config)) as work:
        summary = _run_in(work, inputs, config, workers, runner, extra_args, progress_every)
    return summary


def _run_in(work: str, inputs: list[str], config: PipelineConfig, workers: int,
            runner: str | None, extra_args: list[str] | None, progress_every: float) -> dict:
    """Run the pipeline into ``work`` and write its summary there."""
    t0 = time.perf_counter()
    p = make_pipeline(runner, workers, extra_args)
    build(p, inputs, work, config)
    with PeakRss() as mem, progress.report("run", FileSystems.join(work, TMP_DIR, "progress"),
                                           progress_every, main="read", total_key="ids"):
        result = p.run()
        result.wait_until_finish()
    _remove_scratch(FileSystems.join(work, TMP_DIR))
    write_empty_kinds(work, config.output.num_shards, config.output.compression)
    t1 = time.perf_counter()

    counts = summ.count_outputs(work)
    metrics = _metrics(result)
    input_records = int(summ.read_json(FileSystems.join(work, "_stats", "input_records.json"))["input_records"])
    accounted = counts["kept"] + counts["rejected"] + counts["errors"]
    summary = {
        "input_records": input_records,
        "kept": counts["kept"],
        "rejected": counts["rejected"],
        "errors": counts["errors"],
        "balanced": input_records == accounted,
        "by_filter": counts["by_filter"],
        "by_stage": counts["by_stage"],
        "by_source": counts["by_source"],
        "errors_by_type": counts["errors_by_type"],
        "skipped_records": summ.read_json(FileSystems.join(work, "_stats", "skipped_records.json")),
        "funnel": summ.funnel(input_records, counts["errors"], counts["by_stage"]),
        "metrics": metrics,
        **_memory(mem, metrics, runner),
        "inputs": list(inputs),
        "runner": runner or "FnApiRunner",
        "workers": workers,
        "config": config.model_dump(mode="json"),
        "config_hash": config.digest(),
        "versions": _versions(config),
    }
    manifest_path = FileSystems.join(work, "shards", "manifest.json")
    if FileSystems.exists(manifest_path):
        summary["tokens"] = summ.read_json(manifest_path).get("totals", {})
    summary["timings"] = {
        "pipeline_s": round(t1 - t0, 3),
        "summary_s": round(time.perf_counter() - t1, 3),
        "total_s": round(time.perf_counter() - t0, 3),
    }
    summ.write_json(FileSystems.join(work, "summary.json"), summary)
    if not summary["balanced"]:
        raise RuntimeError(
            f"record accounting failed: input_records={input_records} but kept+rejected+errors={accounted} "
            f"(outputs kept in {work})"
        )
    return summary
