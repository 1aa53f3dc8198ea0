"""WriteShards: the external sort (sorted runs per bundle, merged per shard) on real demo text."""

from __future__ import annotations

from pathlib import Path

import apache_beam as beam
import pyarrow.parquet as pq

from demo_util import read_jsonl
from gristmill.pipelines import write_shards
from gristmill.pipelines.write_shards import WriteShards
from gristmill.schemas import Document, ErrorRecord, entries_to_dict


def _write(records, kind: str, out: Path, shards: int) -> None:
    with beam.Pipeline() as p:
        p | beam.Create(records) | WriteShards(kind, str(out), shards, "zstd")


def _files(out: Path, kind: str) -> dict[str, bytes]:
    return {f.name: f.read_bytes() for f in sorted((out / kind).glob("*.parquet"))}


def test_many_runs_merge_to_the_same_bytes_as_one(demo_dir, tmp_path, monkeypatch):
    rows = read_jsonl(demo_dir / "corpus" / "sms_spam.jsonl", limit=600)
    docs = [Document(id=f"sms/{i:04d}", text=r["text"], source="sms_spam", metadata={"label": r["label"]})
            for i, r in enumerate(rows)]
    # errors with equal sort keys: ties are broken by the row itself, so the order is fixed
    errs = [ErrorRecord("in.jsonl", 7, "malformed_json", "Expecting value", raw=r["text"].encode()) for r in rows[:40]]

    _write(docs, "kept", tmp_path / "one", 3)
    _write(errs, "errors", tmp_path / "one", 2)
    monkeypatch.setattr(write_shards, "RUN_RECORDS", 7)  # ~86 flushes: many runs per shard
    log = tmp_path / "deleted.txt"  # the pipeline runs a pickled copy of the function: log to a file
    real_delete = write_shards.delete_file

    def logged_delete(path: str) -> None:
        with open(log, "a") as f:
            f.write(path + "\n")
        real_delete(path)

    monkeypatch.setattr(write_shards, "delete_file", logged_delete)
    _write(docs, "kept", tmp_path / "many", 3)
    _write(list(reversed(errs)), "errors", tmp_path / "many", 2)

    for kind in ("kept", "errors"):
        one, many = _files(tmp_path / "one", kind), _files(tmp_path / "many", kind)
        assert one and one == many, kind
    parts = sorted((tmp_path / "many" / "kept").glob("*.parquet"))
    assert [f.name for f in parts] == [f"part-{k:05d}-of-00003.parquet" for k in range(3)]
    got = [pq.read_table(f).column("id").to_pylist() for f in parts]
    assert sorted(i for part in got for i in part) == [d.id for d in docs]
    assert all(part == sorted(part) for part in got)
    back = pq.read_table(tmp_path / "many" / "kept").to_pylist()
    assert {r["id"]: entries_to_dict(r["metadata"])["label"] for r in back} == {d.id: d.metadata["label"] for d in docs}
    # the runs are deleted once their shard is written
    assert len([d for d in log.read_text().split() if "/kept-" in d]) > 3 * 50
    assert list((tmp_path / "many" / "_tmp").rglob("*.parquet")) == []
