"""``summary.json``: what a run did, counted from the files it wrote.

Counting from the outputs (not from in-flight counters) makes the summary true by
construction: ``input_records`` is counted as records leave the readers, and the check
``input_records == kept + rejected + errors`` compares two independent counts. Only the
columns needed are read (projection), never the texts.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict

import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems


def list_parquet(run_dir: str, kind: str) -> list[str]:
    pattern = FileSystems.join(run_dir, kind, "*.parquet")
    return sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)


def read_columns(path: str, columns: list[str]) -> dict[str, list]:
    with FileSystems.open(path) as f:
        return pq.read_table(f, columns=columns).to_pydict()


def count_outputs(run_dir: str) -> dict:
    kept_by_source: Counter = Counter()
    rej_by_source: Counter = Counter()
    by_filter: dict[str, Counter] = defaultdict(Counter)
    by_stage: Counter = Counter()
    errors_by_type: Counter = Counter()
    kept = rejected = errors = 0
    for p in list_parquet(run_dir, "kept"):
        cols = read_columns(p, ["source"])
        kept += len(cols["source"])
        kept_by_source.update(cols["source"])
    for p in list_parquet(run_dir, "rejected"):
        cols = read_columns(p, ["source", "stage", "filter", "reason"])
        rejected += len(cols["source"])
        rej_by_source.update(cols["source"])
        by_stage.update(cols["stage"])
        for f, r in zip(cols["filter"], cols["reason"], strict=True):
            by_filter[f][r] += 1
    for p in list_parquet(run_dir, "errors"):
        cols = read_columns(p, ["error_type"])
        errors += len(cols["error_type"])
        errors_by_type.update(cols["error_type"])
    sources = sorted(set(kept_by_source) | set(rej_by_source))
    return {
        "kept": kept,
        "rejected": rejected,
        "errors": errors,
        "by_filter": {f: dict(sorted(c.items())) for f, c in sorted(by_filter.items())},
        "by_stage": dict(sorted(by_stage.items())),
        "by_source": {
            s: {"input": kept_by_source[s] + rej_by_source[s], "kept": kept_by_source[s], "rejected": rej_by_source[s]}
            for s in sources
        },
        "errors_by_type": dict(sorted(errors_by_type.items())),
    }


STAGE_ORDER = ["extract", "normalize", "filters", "dedup"]


def funnel(input_records: int, errors: int, by_stage: dict[str, int]) -> list[dict]:
    """Documents remaining after each stage, in pipeline order."""
    steps = [{"stage": "input", "documents": input_records}]
    n = input_records - errors
    steps.append({"stage": "parse", "documents": n})
    for stage in STAGE_ORDER + sorted(set(by_stage) - set(STAGE_ORDER)):
        if stage in by_stage:
            n -= by_stage[stage]
            steps.append({"stage": stage, "documents": n})
    return steps


def read_json(path: str) -> dict:
    with FileSystems.open(path) as f:
        return json.loads(f.read())


def write_json(path: str, obj: dict) -> None:
    with FileSystems.create(path) as f:
        f.write((json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n").encode())
