"""One pipeline run per config, with token shards, reused while nothing it depends on changed.

A run is reused when its directory is a complete gristmill run (marker, ``summary.json``,
``shards/manifest.json``) of the same config hash on the same input; adding a config to an
ablation runs only that config. What the input was is recorded beside the run
(``runs/NAME.input.json``: the carve's sha256, or the raw files' paths, sizes and times).

A config without a ``tokenize:`` section gets one (the ablation's ``--tokenizer``): a proxy
model needs shards. On a carved input (JSONL written by ``heldout``) a config that names
another input format reads it as ``auto``. Both changes are logged and show in the run's
config hash, which is the hash ``ablation.json`` reports.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from gristmill.ablate.spec import ConfigEntry
from gristmill.config import PipelineConfig, TokenizeConfig
from gristmill.pipelines.rundir import is_run_dir

log = logging.getLogger("gristmill.ablate")


@dataclass
class RunInfo:
    """What the ablation needs to know about one config's pipeline run."""

    name: str
    run_dir: Path
    config_hash: str
    reused: bool
    input_records: int
    kept_documents: int
    kept_tokens: int  # all shard tokens (train + validation), one EOS per document included
    train_split_tokens: int  # what the proxy model trains on
    tokenizer: dict  # the manifest's tokenizer entry: name, path, sha256, vocab_size, eos_id

    @property
    def shards_dir(self) -> Path:
        return self.run_dir / "shards"


def config_as_run(entry: ConfigEntry, carved: bool, tokenizer: str) -> PipelineConfig:
    """The config as the ablation runs it (see the module docstring for the two changes)."""
    cfg = entry.config
    if cfg.tokenize is None:
        log.info("config %s has no tokenize: section; its kept documents are tokenized with %s",
                 entry.name, tokenizer)
        cfg = cfg.model_copy(update={"tokenize": TokenizeConfig(tokenizer=tokenizer)})
    if carved and cfg.input.format not in ("auto", "jsonl"):
        log.info("config %s reads input.format %s; the carved input is JSONL, read as auto",
                 entry.name, cfg.input.format)
        cfg = cfg.model_copy(update={"input": cfg.input.model_copy(update={"format": "auto"})})
    return cfg


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _reusable(run_dir: Path, record: Path, expected: dict) -> bool:
    summary = _read(run_dir / "summary.json")
    return bool(is_run_dir(run_dir) and summary and (run_dir / "shards" / "manifest.json").is_file()
                and summary.get("config_hash") == expected["config_hash"]
                and _read(record) == expected)


def run_config(entry: ConfigEntry, cfg: PipelineConfig, inputs: list[str], runs_dir: Path,
               input_key: object, workers: int = 1) -> RunInfo:
    """Run ``cfg`` on ``inputs`` into ``runs_dir/NAME`` unless an identical run is there."""
    from gristmill.pipelines.run import run_pipeline

    run_dir = runs_dir / entry.name
    record = runs_dir / f"{entry.name}.input.json"
    expected = {"config_hash": cfg.digest(), "input": input_key}
    reused = _reusable(run_dir, record, expected)
    if reused:
        log.info("config %s: reusing the run in %s (same config hash and input)", entry.name, run_dir)
    else:
        log.info("config %s: running the pipeline into %s", entry.name, run_dir)
        record.unlink(missing_ok=True)
        runs_dir.mkdir(parents=True, exist_ok=True)
        run_pipeline(inputs, str(run_dir), cfg, workers=workers, overwrite=True)
        tmp = record.with_name(record.name + ".tmp")
        tmp.write_text(json.dumps(expected, indent=2) + "\n")
        os.replace(tmp, record)
    summary = json.loads((run_dir / "summary.json").read_text())
    manifest = json.loads((run_dir / "shards" / "manifest.json").read_text())
    totals = manifest["totals"]
    return RunInfo(
        name=entry.name, run_dir=run_dir, config_hash=summary["config_hash"], reused=reused,
        input_records=int(summary["input_records"]), kept_documents=int(summary["kept"]),
        kept_tokens=int(totals["tokens"]), train_split_tokens=int(totals["train"]["tokens"]),
        tokenizer=dict(manifest["tokenizer"]),
    )
