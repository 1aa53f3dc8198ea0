"""SpillGroupByKey and bounded_merge: groups through sorted files equal Beam's GroupByKey, a
merge never opens more than its fan-in of runs, and every scratch file is gone at the end."""

from __future__ import annotations

import json
import random
from pathlib import Path

import apache_beam as beam
from apache_beam.testing.util import assert_that, equal_to

from gristmill.pipelines import spill_group
from gristmill.pipelines.spill_group import SpillGroupByKey, bounded_merge


def _runs(tmp_path: Path, n_runs: int, per_run: int) -> tuple[list[str], list[tuple[str, str]]]:
    rng = random.Random(7)
    paths, everything = [], []
    for k in range(n_runs):
        pairs = sorted((f"k{rng.randrange(500):04d}", f"v{k}-{i}") for i in range(per_run))
        path = str(tmp_path / f"run-{k:02d}.parquet")
        spill_group._write_run(pairs, path, spill_group._schema("str"))
        paths.append(path)
        everything += pairs
    return paths, sorted(everything)


def test_bounded_merge_equals_a_full_merge_and_cleans_up(tmp_path, monkeypatch):
    paths, expected = _runs(tmp_path, 11, 300)
    opened = []
    real_read = spill_group._read_run

    def read(path):
        opened.append(path)
        return real_read(path)

    schema = spill_group._schema("str")
    got = list(bounded_merge(paths, read, lambda items, p: spill_group._write_run(items, p, schema), fan_in=3))
    assert got == expected
    assert sorted(str(p) for p in tmp_path.iterdir()) == sorted(paths)  # intermediates deleted, inputs kept
    assert len(opened) > len(paths)  # it did merge in passes (11 runs > fan-in 3)


def test_spill_group_matches_group_by_key(demo_dir, tmp_path, monkeypatch):
    """Real words of the demo corpus keyed by their first letter: the same groups as a
    GroupByKey, with many small runs (``RUN_PAIRS``) merged in passes (``MERGE_FAN_IN``)."""
    monkeypatch.setattr(spill_group, "RUN_PAIRS", 200)
    monkeypatch.setattr(spill_group, "MERGE_FAN_IN", 4)
    words = []
    for line in (demo_dir / "corpus" / "sms_spam.jsonl").read_text().splitlines()[:300]:
        words += json.loads(line)["text"].lower().split()
    pairs = [(w[0], f"{w}#{i}") for i, w in enumerate(words)]
    expected = {}
    for k, v in pairs:
        expected.setdefault(k, []).append(v)
    want = [(k, sorted(v)) for k, v in expected.items() if len(v) >= 2]
    scratch = tmp_path / "scratch"
    with beam.Pipeline() as p:
        got = (p | beam.Create([pairs[i:i + 50] for i in range(0, len(pairs), 50)])
               | SpillGroupByKey(str(scratch), "t", min_size=2))
        assert_that(got, equal_to(want))
    assert len(pairs) > 5 * 200
    assert list(scratch.iterdir()) == []


def test_spill_group_joins_several_inputs_with_bytes_values(demo_dir, tmp_path, monkeypatch):
    """A join: two collections (made in different stages, one of them with a side input, the
    case the local runner mishandles after a plain Flatten) tagged and grouped together; the
    groups hold the values of both, as bytes, exactly as a GroupByKey of their union would."""
    monkeypatch.setattr(spill_group, "RUN_PAIRS", 100)
    lines = (demo_dir / "corpus" / "sms_spam.jsonl").read_text().splitlines()[:200]
    words = [w for line in lines for w in json.loads(line)["text"].lower().split()]
    left = [(w[0], b"L" + w.encode()) for w in words[::2]]
    right = [(w[0], b"R" + w.encode()) for w in words[1::2]]
    expected: dict[str, list[bytes]] = {}
    for k, v in left + right:
        expected.setdefault(k, []).append(v)
    want = [(k, sorted(v)) for k, v in expected.items()]
    scratch = tmp_path / "scratch"
    with beam.Pipeline() as p:
        one = p | "Side" >> beam.Create([0])
        a = (p | "Left" >> beam.Create([left[i:i + 40] for i in range(0, len(left), 40)])
             | "WithSide" >> beam.Map(lambda batch, _: batch, beam.pvalue.AsSingleton(one)))
        b = p | "Right" >> beam.Create(right)
        got = (a, b) | SpillGroupByKey(str(scratch), "j", value_type="bytes")
        assert_that(got, equal_to(want))
    assert any(v.startswith(b"L") for _, vs in want for v in vs)
    assert list(scratch.iterdir()) == []
