"""kept/ and rejected/ of a real run load in every common reader with no extra arguments:
HF datasets (plain and streaming), pandas, DuckDB and polars, and each gives back the same
documents, metadata and scores as pyarrow."""

from __future__ import annotations

import math

import datasets
import duckdb
import pandas as pd
import polars as pl
import pyarrow.parquet as pq
import pytest

from gristmill.schemas import SCHEMA_VERSION, entries_to_dict

KINDS = ("kept", "rejected")


def _expected(run, kind: str) -> dict[str, tuple[dict, dict]]:
    """id -> (metadata, scores) as pyarrow reads them."""
    table = pq.read_table(run / kind, columns=["id", "metadata", "scores"])
    return {r["id"]: (entries_to_dict(r["metadata"]), entries_to_dict(r["scores"]))
            for r in table.to_pylist()}


def _same(x, y) -> bool:
    nan = lambda v: v is None or (isinstance(v, float) and math.isnan(v))  # noqa: E731
    return x == y or (nan(x) and nan(y))


def _same_scores(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)


def _check(rows, want: dict[str, tuple[dict, dict]]) -> None:
    got = {r["id"]: (entries_to_dict(r["metadata"]), entries_to_dict(r["scores"])) for r in rows}
    assert got.keys() == want.keys()
    for doc_id, (meta, scores) in want.items():
        assert got[doc_id][0] == meta
        assert _same_scores(got[doc_id][1], scores)


@pytest.fixture(scope="module")
def expected(small_run):
    want = {kind: _expected(small_run, kind) for kind in KINDS}
    assert want["kept"] and want["rejected"]
    # the run really has entries to read: C4's counts in metadata, every filter's scores
    some = next(iter(want["kept"].values()))
    assert any(k.startswith("c4.") for k in some[0]) and "word_count.words" in some[1]
    dups = pq.read_table(small_run / "rejected", columns=["duplicate_of"]).column(0).drop_null()
    assert len(dups) > 0
    for kind in KINDS:
        for f in (small_run / kind).glob("*.parquet"):
            assert pq.read_schema(f).metadata[b"schema_version"] == SCHEMA_VERSION.encode()
    return want


@pytest.mark.parametrize("kind", KINDS)
def test_hf_datasets(small_run, expected, kind, tmp_path):
    files = sorted(str(f) for f in (small_run / kind).glob("*.parquet"))
    ds = datasets.load_dataset("parquet", data_files=files, split="train",
                               cache_dir=str(tmp_path / "cache"))
    assert ds.num_rows == len(expected[kind])
    _check(ds, expected[kind])
    stream = datasets.load_dataset("parquet", data_files=files, split="train", streaming=True)
    _check(list(stream), expected[kind])
    df = pq.read_table(files).to_pandas()
    _check(datasets.Dataset.from_pandas(df, preserve_index=False), expected[kind])


@pytest.mark.parametrize("kind", KINDS)
def test_pandas(small_run, expected, kind):
    df = pd.read_parquet(small_run / kind)
    _check(df.to_dict("records"), expected[kind])


@pytest.mark.parametrize("kind", KINDS)
def test_duckdb(small_run, expected, kind):
    con = duckdb.connect()
    rows = con.execute(
        f"SELECT id, metadata, scores FROM read_parquet('{small_run / kind}/*.parquet')"
    ).fetchall()
    _check([{"id": i, "metadata": m, "scores": s} for i, m, s in rows], expected[kind])
    # the documented one-call way back to a map
    any_id, (_, scores) = next(iter(expected[kind].items()))
    got = con.execute(
        f"SELECT map_from_entries(scores)['word_count.words'] FROM "
        f"read_parquet('{small_run / kind}/*.parquet') WHERE id = ?", [any_id]).fetchone()[0]
    assert got == scores["word_count.words"]


@pytest.mark.parametrize("kind", KINDS)
def test_polars(small_run, expected, kind):
    df = pl.read_parquet(small_run / kind / "*.parquet")
    _check(df.select("id", "metadata", "scores").to_dicts(), expected[kind])
    lazy = pl.scan_parquet(small_run / kind / "*.parquet").select(pl.len()).collect()
    assert lazy.item() == len(expected[kind])


def test_inspect_reads_the_entries_back(small_run):
    """`inspect` shows what C4's cleaner recorded from a row as Arrow reads it back (with
    dict() on schema 2 structs it would silently find nothing)."""
    from gristmill.report.run import RunDir, fetch_by_ids
    from gristmill.report.terminal import c4_counts

    rows = pq.read_table(small_run / "kept", columns=["id", "metadata"]).to_pylist()
    rid = next(r["id"] for r in rows
               if any(e["key"].startswith("c4.") and e["value"] != "0" for e in r["metadata"]))
    row = fetch_by_ids(RunDir.open(small_run), "kept", [rid])[rid]
    assert c4_counts(row).startswith("C4 cleaner: ")
