"""Which runner and which Beam pipeline options a command line may name.

``gristmill run`` passes Beam's own options (``--job_endpoint``, ``--project``,
``--flink_master``...) through to the runner. A flag before ``--`` that gristmill does not
know must be one of the options Beam's registered ``PipelineOptions`` classes define (the
same set ``PipelineOptions.get_all_options`` parses), so a typo such as ``--overwite`` is an
error instead of Beam's "Discarding unparseable args" warning on a run that goes ahead.
Everything after a literal ``--`` goes to Beam unchecked (for options only a runner's job
server knows, such as Java-side Flink flags).
"""

from __future__ import annotations

from apache_beam.options.pipeline_options import (
    PipelineOptions,
    StandardOptions,
    _BeamArgumentParser,
)
from apache_beam.runners.runner import PipelineRunner, create_runner

from gristmill.errors import UserError
from gristmill.pipelines.beam_util import LOCAL_RUNNERS


def check_runner(runner: str | None) -> None:
    """Raise ``UserError`` unless ``runner`` is a local name or a runner Beam can create.

    Creating the runner also imports its module, which registers any ``PipelineOptions``
    it defines (Dask's, for one), so call this before ``unknown_beam_args``.
    """
    if runner in LOCAL_RUNNERS:
        return
    try:
        made = create_runner(runner)
    except ValueError as e:  # Beam's message for a name it does not know
        raise UserError(f"unknown --runner {runner!r}; {_known_runners()}") from e
    except (ImportError, AttributeError, TypeError) as e:
        raise UserError(f"--runner {runner!r} cannot be loaded: {e}") from e
    if not isinstance(made, PipelineRunner):
        raise UserError(f"--runner {runner!r} is not a Beam PipelineRunner; {_known_runners()}")


def _known_runners() -> str:
    local = [r for r in LOCAL_RUNNERS if r]
    remote = [r for r in StandardOptions.KNOWN_RUNNER_NAMES if r not in local and not r.startswith("Test")]
    return (f"local: {', '.join(local)}; Beam: {', '.join(remote)}; "
            "or the dotted name of a PipelineRunner class")


class _OptionsParser(_BeamArgumentParser):
    """Beam's option parser, but a bad value is a ``UserError`` rather than an exit."""

    def error(self, message: str):  # type: ignore[override]
        raise UserError(f"Beam pipeline option: {message}")


def _beam_parser() -> _OptionsParser:
    # As PipelineOptions.get_all_options does: every registered subclass, first of each name.
    parser = _OptionsParser(allow_abbrev=False, add_help=False)
    classes: dict[str, type[PipelineOptions]] = {}
    for cls in PipelineOptions.__subclasses__():
        classes.setdefault(str(cls), cls)
    for cls in classes.values():
        cls._add_argparse_args(parser)
    return parser


def unknown_beam_args(args: list[str]) -> list[str]:
    """The items of ``args`` that no Beam ``PipelineOptions`` class accepts (in order)."""
    if not args:
        return []
    _, unknown = _beam_parser().parse_known_args(args)
    return unknown


def beam_flags() -> list[str]:
    """Every ``--flag`` Beam's registered ``PipelineOptions`` define (for suggestions)."""
    return [s for a in _beam_parser()._actions for s in a.option_strings if s.startswith("--")]
