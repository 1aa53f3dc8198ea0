"""The small Beam helpers every pipeline module shares: the pipeline on the chosen runner, the
one counter namespace, elements emitted from ``finish_bundle``, scratch-file deletion, and a
copy of a document that a step may change (Beam elements must not be mutated in place).
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.windowed_value import WindowedValue

from gristmill.errors import UserError
from gristmill.schemas import Document

# The one namespace of every gristmill counter: run._metrics reads this one into summary.json.
NAMESPACE = "gristmill"

LOCAL_RUNNERS = (None, "", "direct", "DirectRunner", "FnApiRunner", "local")


def make_pipeline(runner: str | None, workers: int, extra_args: list[str] | None = None) -> beam.Pipeline:
    """A Beam pipeline on the chosen runner.

    Local runs use Beam's Python FnApiRunner directly: the default ``DirectRunner`` first
    tries to download the Prism binary, which fails offline and falls back silently.
    ``workers > 1`` uses its multi-processing mode (one SDK worker process each), and the
    glibc heap settings of ``heap.tune_heap`` apply to the runner and its workers.
    Other runners (PortableRunner, DataflowRunner, FlinkRunner, SparkRunner) take their
    own flags through ``extra_args``. A runner name Beam does not know, or ``workers < 1``,
    is a ``UserError`` here, before any stage is built.
    """
    from gristmill.pipelines.beam_options import check_runner

    if workers < 1:
        raise UserError(f"workers must be >= 1, got {workers}")
    check_runner(runner)
    args = list(extra_args or [])
    if runner in LOCAL_RUNNERS:
        from apache_beam.runners.portability.fn_api_runner import FnApiRunner

        from gristmill.pipelines.heap import tune_heap

        tune_heap()  # before the workers start: they inherit the settings

        mode = "multi_processing" if workers > 1 else "in_memory"
        opts = PipelineOptions(args, direct_num_workers=workers, direct_running_mode=mode)
        return beam.Pipeline(runner=FnApiRunner(), options=opts)
    opts = PipelineOptions(args + [f"--runner={runner}"])
    try:
        return beam.Pipeline(options=opts)
    except ValueError as e:  # Beam validates runner options here (e.g. an invalid --project)
        raise UserError(f"{runner}: invalid pipeline options: {e}") from e


def in_global_window(value) -> WindowedValue:
    """An element emitted from ``finish_bundle`` (which must say its window)."""
    return WindowedValue(value, GlobalWindow().max_timestamp(), [GlobalWindow()])


def copy_doc(doc: Document) -> Document:
    """A copy whose mutable fields can be changed without touching the input element."""
    return Document(doc.id, doc.text, doc.source, doc.url, dict(doc.metadata), dict(doc.scores))


def delete_file(path: str) -> None:
    """Remove a scratch file (a sorted run, a dedup spill file) on any Beam filesystem."""
    FileSystems.delete([path])
