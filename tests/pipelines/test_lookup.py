"""BuildLookup / FileLookup: a dict side input kept in files (dedup's decisions)."""

from __future__ import annotations

import json

import apache_beam as beam
import numpy as np
import pytest

from gristmill.pipelines.lookup import BuildLookup, FileLookup, delete_lookup, open_lookup


def _joined(_key: str, values: list[bytes]) -> bytes | None:
    """Keys with a b"skip" value store nothing; the others store their values joined."""
    if b"skip" in values:
        return None
    return b"|".join(values)


def _build(tmp_path, *inputs, partitions: int = 4) -> list:
    out = tmp_path / "parts.json"
    with beam.Pipeline() as p:
        pcs = tuple(p | f"C{i}" >> beam.Create(items, reshuffle=False) for i, items in enumerate(inputs))
        parts = pcs | BuildLookup(str(tmp_path), "t", _joined, partitions=partitions)
        parts | beam.Map(lambda ps: out.write_text(json.dumps(ps)))
    return [tuple(x) for x in json.loads(out.read_text())]


def test_every_key_is_found_with_its_reduced_value_and_others_are_not(tmp_path):
    # Real-looking ids (unicode, surrogate-free), several values per key, two inputs joined.
    ids = [f"doc-{i:06d}-é" for i in range(3000)]
    first = [(k, f"a{i}".encode()) for i, k in enumerate(ids)]
    second = [[(k, b"b") for k in ids[::3]], [(ids[1], b"skip")]]  # lists of pairs are accepted
    parts = _build(tmp_path, first, second)
    look = FileLookup(parts, partitions=4)
    assert len(look) == len(ids) - 1  # ids[1] stored nothing
    for i, k in enumerate(ids):
        want = None if i == 1 else (b"a%d|b" % i if i % 3 == 0 else b"a%d" % i)
        assert look.get(k) == want
    assert "doc-999999" not in look and look.get("") is None
    # Within a partition the index is sorted by key hash (what the binary search relies on).
    for hashes, offsets, _ in look.parts.values():
        assert np.all(hashes[:-1] <= hashes[1:]) and len(offsets) == len(hashes) + 1
    look.close()
    # No run file is left beside the lookup's own files; deleting them leaves nothing.
    assert sorted(p.suffix for p in tmp_path.iterdir() if p.name != "parts.json") == \
        sorted([".data", ".index"] * len(parts))
    delete_lookup(parts)
    assert [p.name for p in tmp_path.iterdir()] == ["parts.json"]


def test_an_empty_lookup_is_a_valid_side_input(tmp_path):
    parts = _build(tmp_path, [])
    assert parts == []
    look = open_lookup(parts)
    assert len(look) == 0 and look.get("x") is None
    assert open_lookup(None).get("x") is None


def test_colliding_hashes_are_told_apart_by_the_key(tmp_path, monkeypatch):
    # Force every key onto one hash: the lookup must still compare the stored key.
    import gristmill.pipelines.lookup as lk

    monkeypatch.setattr(lk.xxhash, "xxh64_intdigest", lambda raw: 7)
    parts = _build(tmp_path, [(k, k.encode()) for k in ("b", "a", "c")], partitions=2)
    look = FileLookup(parts, partitions=2)
    assert [look.get(k) for k in ("a", "b", "c", "d")] == [b"a", b"b", b"c", None]
    look.close()


@pytest.mark.parametrize("n", [1, 40])
def test_open_lookup_reuses_one_reader_per_value(tmp_path, n):
    parts = _build(tmp_path, [(f"k{i}", b"v") for i in range(n)])
    assert open_lookup(parts) is open_lookup(list(parts))
