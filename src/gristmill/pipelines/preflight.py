"""Checks a run makes before it reads any input: each turns a user's mistake into one line.

Without them the same mistakes surface late, as tracebacks: a bad ``tokenizer.json`` when
Beam builds the tokenize stage, after the output directory was created. (Where a run may
write is ``rundir``'s job.)
"""

from __future__ import annotations

from gristmill.config import PipelineConfig
from gristmill.errors import UserError


def check_tokenizer(config: PipelineConfig) -> None:
    """Load the tokenizer the config's ``tokenize`` section names, if it has one.

    ``load_tokenizer`` caches ``gpt2`` per process, so an in-process run pays for it once.
    """
    if config.tokenize is None:
        return
    from gristmill.tokenize import load_tokenizer

    spec = config.tokenize.tokenizer
    try:
        load_tokenizer(spec)
    except (OSError, ValueError) as e:
        raise UserError(f"tokenize: cannot load tokenizer {spec!r}: {e}") from e
