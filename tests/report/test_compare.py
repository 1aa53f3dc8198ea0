"""``gristmill report --compare`` against a second real run with another threshold."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from gristmill.cli import main
from gristmill.config import parse_config
from gristmill.pipelines.run import run_pipeline
from gristmill.report.compare import compare_runs
from gristmill.report.run import RunDir
from gristmill.schemas import entries_to_dict


@pytest.fixture(scope="module")
def run_b(run_dir, tmp_path_factory) -> Path:
    """The same input, a lower min_words, C4 in annotate mode and no near-dup stage."""
    inp = run_dir.parent / "input" / "input.jsonl"
    assert inp.exists()
    out = tmp_path_factory.mktemp("run_b") / "run"
    cfg = {"filters": [{"name": "word_count", "params": {"min_words": 4}},
                       {"name": "c4", "mode": "annotate"}], "dedup": {"exact": {}}}
    run_pipeline([str(inp)], str(out), parse_config(cfg))
    return out


def _fates(run: Path) -> dict[str, str]:
    out = {}
    for f in sorted((run / "kept").glob("*.parquet")):
        out.update({i: "kept" for i in pq.read_table(f, columns=["id"]).column("id").to_pylist()})
    for f in sorted((run / "rejected").glob("*.parquet")):
        t = pq.read_table(f, columns=["id", "reason"]).to_pydict()
        out.update(dict(zip(t["id"], t["reason"], strict=True)))
    return out


def test_compare_counts_and_changed_fates(run_dir, run_b, capsys):
    cmp = compare_runs(RunDir.open(run_dir), RunDir.open(run_b))
    fa, fb = _fates(run_dir), _fates(run_b)
    changed = Counter((fa.get(i, "absent"), fb.get(i, "absent")) for i in set(fa) | set(fb)
                      if fa.get(i, "absent") != fb.get(i, "absent"))
    assert cmp.changed == sum(changed.values()) > 0
    assert {(a, b): n for a, b, n, _ in cmp.transitions} == dict(changed)
    rows = {k.strip(): (a, b) for k, a, b in cmp.counts}
    assert rows["word_count.too_few_words"][1] < rows["word_count.too_few_words"][0]
    assert rows["minhash.duplicate"][1] == 0
    assert rows["kept"] == (Counter(fa.values())["kept"], Counter(fb.values())["kept"])
    assert any(k.endswith("min_words") for k, _, _ in cmp.config_changes)
    assert main(["report", "--compare", str(run_dir), str(run_b)]) == 0
    out = capsys.readouterr().out
    assert "fate changed" in out and "[word_count]" in out


def test_annotate_mode_is_counted_not_removed(run_b, capsys):
    from gristmill.report.stats import compute_stats

    st = compute_stats(RunDir.open(run_b))
    metas = []
    for kind in ("kept", "rejected"):
        for f in sorted((run_b / kind).glob("*.parquet")):
            metas += [entries_to_dict(m) for m in pq.read_table(f, columns=["metadata"]).column("metadata").to_pylist()]
    expect = Counter(m["annotate.c4"] for m in metas if m.get("annotate.c4"))
    assert st.annotated == expect and sum(expect.values()) > 0
    assert "c4" not in {r.filter for r in st.by_reason.values()}
    assert main(["inspect", str(run_b), "--filter", "c4"]) == 2
    assert "annotate mode" in capsys.readouterr().err
