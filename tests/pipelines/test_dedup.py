"""Exact and MinHash dedup as Beam transforms, on real demo text."""

from __future__ import annotations

import json
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from demo_util import read_jsonl
from gristmill.config import DedupConfig, ExactDedupConfig, MinHashDedupConfig, parse_config
from gristmill.dedup.evalset import (
    plant_duplicates,
    precision_recall,
    removed_by_components,
    true_pairs,
)
from gristmill.dedup.minhash import jaccard
from gristmill.dedup.shingle import shingle_hashes
from gristmill.pipelines.dedup import Deduplicate
from gristmill.schemas.records import Document, Rejection

BOTH = DedupConfig(exact=ExactDedupConfig(), minhash=MinHashDedupConfig())


def run_dedup(docs: list[Document], cfg: DedupConfig, out: Path, workers: int = 1) -> tuple[dict, dict]:
    """Run Deduplicate; return ({id: kept Document}, {id: Rejection}) read back from files.

    The documents pass through spill files under ``out/spill``; every one of them must be
    deleted by the end of the run.
    """
    opts = ["--direct_num_workers", str(workers)]
    if workers > 1:
        opts += ["--direct_running_mode", "multi_processing"]
    with beam.Pipeline(options=PipelineOptions(opts)) as p:
        res = p | beam.Create(docs) | Deduplicate(cfg, spill_dir=str(out / "spill"))
        (res["kept"] | "K" >> beam.Map(lambda d: json.dumps(d.to_row()))
         | "WK" >> beam.io.WriteToText(str(out / "kept")))
        (res["rejected"] | "R" >> beam.Map(lambda r: json.dumps(r.to_row()))
         | "WR" >> beam.io.WriteToText(str(out / "rej")))
    assert list((out / "spill").glob("*")) == [], "spill files left behind"
    kept = {}
    for f in out.glob("kept*"):
        for line in f.read_text().splitlines():
            d = Document.from_row(json.loads(line))
            kept[d.id] = d
    rej = {}
    for f in out.glob("rej*"):
        for line in f.read_text().splitlines():
            r = Rejection.from_row(json.loads(line))
            rej[r.doc.id] = r
    return kept, rej


def _replace(words: list[str], positions: list[int], tag: str) -> list[str]:
    w = list(words)
    for k, i in enumerate(positions):
        w[i] = f"{tag}{chr(97 + k)}"
    return w


@pytest.fixture(scope="module")
def corpus(demo_dir) -> dict:
    """Real demo documents plus constructed exact groups, a chain, short and Unicode texts."""
    sms_rows = read_jsonl(demo_dir / "corpus" / "sms_spam.jsonl", limit=201)
    sms = [Document(id=f"sms/{i:04d}", text=r["text"], source="sms_spam")
           for i, r in enumerate(sms_rows[:150])]
    lone = sms_rows[200]["text"]  # a text nothing else in the corpus derives from
    lit = [Document(id=r["id"], text=r["text"], source=r["source"])
           for r in read_jsonl(demo_dir / "corpus" / "literature.jsonl", limit=60)]
    base = [d for d in sms + lit]
    variants, planted = plant_duplicates(lit + sms, 60, seed=3)
    words = lit[7].text.split()[:400]
    a = words
    b = _replace(a, [30, 90, 150, 210, 270, 330], "chainb")
    c = _replace(b, [60, 120, 180, 240, 300, 360], "chainc")
    special = [
        # exact-copy group differing only in case/punctuation/spacing; smallest id is "x/1"
        Document(id="x/3", text=lone.upper() + " !!", source="t"),
        Document(id="x/1", text=lone, source="t"),
        Document(id="x/2", text="  " + lone.replace(" ", "  "), source="t"),
        # chain A~B~C with J(A,C) < 0.8
        Document(id="chain/a", text=" ".join(a), source="t"),
        Document(id="chain/b", text=" ".join(b), source="t"),
        Document(id="chain/c", text=" ".join(c), source="t"),
        # shorter than the shingle size
        Document(id="short/1", text="Hello there!", source="t"),
        Document(id="short/2", text="hello,   THERE.", source="t"),
        Document(id="short/3", text="hello there world", source="t"),
        Document(id="short/4", text="...", source="t"),
        # Unicode: accents and Cyrillic
        Document(id="uni/1", text="Crème brûlée à la française, s'il vous plaît. " * 3, source="t"),
        Document(id="uni/2", text="Creme brulee a la francaise, s'il vous plait. " * 3, source="t"),
        Document(id="uni/3", text=" ".join(["Съешь же ещё этих мягких французских булок да выпей чаю"] * 4), source="t"),
        Document(id="uni/4", text=" ".join(["Съешь же ещё этих мягких французских булок да выпей чаю"] * 4) + " конец", source="t"),
        # every field must survive the trip through the spill files
        Document(id="meta/1", text=sms_rows[199]["text"], source="sms_spam", url="https://example.org/1",
                 metadata={"language": "en", "z": "last", "a": "first"}, scores={"language": 0.97, "nan": float("nan")}),
    ]
    return {"docs": base + variants + special, "planted": planted}


@pytest.fixture(scope="module")
def result(corpus, tmp_path_factory):
    return run_dedup(corpus["docs"], BOTH, tmp_path_factory.mktemp("dedup1"))


def test_every_document_is_kept_or_rejected_once(corpus, result):
    kept, rej = result
    ids = [d.id for d in corpus["docs"]]
    assert sorted(list(kept) + list(rej)) == sorted(ids)
    for r in rej.values():
        assert r.stage == "dedup" and r.duplicate_of in kept
        assert (r.filter, r.reason) in {("exact_dedup", "exact_dedup.duplicate"), ("minhash", "minhash.duplicate")}


def test_documents_come_back_from_spill_files_unchanged(corpus, result):
    kept, _ = result
    want = next(d for d in corpus["docs"] if d.id == "meta/1")
    got = kept["meta/1"]
    assert (got.text, got.source, got.url, got.metadata) == (want.text, want.source, want.url, want.metadata)
    assert got.scores["language"] == 0.97 and got.scores["nan"] != got.scores["nan"]


def test_exact_copy_group_keeps_smallest_id(result):
    kept, rej = result
    assert "x/1" in kept
    for i in ("x/2", "x/3"):
        r = rej[i]
        assert (r.filter, r.reason, r.duplicate_of, r.value) == ("exact_dedup", "exact_dedup.duplicate", "x/1", 1.0)
        assert r.doc.scores["exact_dedup.similarity"] == 1.0
        assert r.doc.metadata["exact_dedup.cluster_size"] == "3"
    assert kept["x/1"].metadata["exact_dedup.cluster"] == "x/1"


def test_chain_is_one_cluster(result):
    kept, rej = result
    docs = {**kept, **{k: r.doc for k, r in rej.items()}}
    h = {k: shingle_hashes(docs[f"chain/{k}"].text, 5) for k in "abc"}
    assert jaccard(h["a"], h["b"]) >= 0.8 and jaccard(h["b"], h["c"]) >= 0.8
    assert jaccard(h["a"], h["c"]) < 0.8  # A and C are not near-duplicates of each other
    assert "chain/a" in kept
    rb, rc = rej["chain/b"], rej["chain/c"]
    assert rb.duplicate_of == rc.duplicate_of == "chain/a"
    assert rc.value == pytest.approx(jaccard(h["b"], h["c"]))  # verified similarity to its neighbour
    assert rc.doc.metadata["minhash.nearest"] == "chain/b"
    assert rc.doc.metadata["minhash.cluster_size"] == "3"
    assert rc.threshold == 0.8 and rc.doc.scores["minhash.similarity"] == rc.value


def test_short_and_unicode_documents(result):
    kept, rej = result
    # "Hello there!" and "hello,   THERE." normalize alike: exact dup; "hello there world" is not.
    assert "short/1" in kept and rej["short/2"].duplicate_of == "short/1"
    assert "short/3" in kept and "short/4" in kept
    assert rej["uni/2"].duplicate_of == "uni/1" and rej["uni/2"].filter == "exact_dedup"
    assert "uni/3" in kept and rej["uni/4"].filter == "minhash" and rej["uni/4"].duplicate_of == "uni/3"


def test_removed_documents_match_exact_ground_truth(corpus, result):
    """Precision/recall of removed documents against exact Jaccard on the same shingles."""
    kept, rej = result
    truth_pairs = {p for p, j in true_pairs(corpus["docs"], 5).items() if j >= 0.8}
    truth_removed = removed_by_components(truth_pairs)
    assert len(truth_removed) > 40
    precision, recall = precision_recall(set(rej), truth_removed)
    assert precision >= 0.95 and recall >= 0.95, (precision, recall)


def test_same_survivors_with_two_worker_processes(corpus, result, tmp_path):
    kept, rej = result
    kept2, rej2 = run_dedup(corpus["docs"], BOTH, tmp_path, workers=2)
    assert set(kept2) == set(kept)
    assert {k: (r.duplicate_of, r.value) for k, r in rej2.items()} == {
        k: (r.duplicate_of, r.value) for k, r in rej.items()
    }


def test_stages_can_be_off_and_minhash_alone_sees_exact_copies(corpus):
    docs = [d for d in corpus["docs"] if d.id.startswith(("x/", "short/"))]
    expected_kept = ["short/1", "short/3", "short/4", "x/1"]
    with BeamTestPipeline() as p:
        src = p | beam.Create(docs)
        off = src | "Off" >> Deduplicate(DedupConfig())
        assert_that(off["kept"] | "OffIds" >> beam.Map(lambda d: d.id), equal_to([d.id for d in docs]), label="OffKept")
        assert_that(off["rejected"], equal_to([]), label="OffRejected")
        mh = src | "MH" >> Deduplicate(DedupConfig(minhash=MinHashDedupConfig(verify=False)))
        assert_that(mh["kept"] | "MHIds" >> beam.Map(lambda d: d.id), equal_to(expected_kept), label="MHKept")
        assert_that(
            mh["rejected"] | "MHRej" >> beam.Map(lambda r: (r.doc.id, r.filter, r.duplicate_of)),
            equal_to([("short/2", "minhash", "short/1"), ("x/2", "minhash", "x/1"), ("x/3", "minhash", "x/1")]),
            label="MHRejected",
        )


def test_config_section_parses_and_rejects_bad_band_settings():
    cfg = parse_config({"dedup": {"exact": {}, "minhash": {"threshold": 0.7, "bands": 10, "rows": 12}}})
    assert cfg.dedup.minhash.bands == 10 and cfg.dedup.exact.normalize is True
    # Caught when the pipeline is built, not in a worker halfway through a run.
    with pytest.raises(ValueError, match="exceeds num_perm"):
        Deduplicate(DedupConfig(minhash=MinHashDedupConfig(bands=20, rows=7)))


def test_combined_pass_equals_exact_then_minhash(corpus, result):
    """Deduplicate reads the documents once; it must keep what the two stages run one after
    the other keep, and remove the same documents for the same reasons."""
    kept, rej = result
    from gristmill.pipelines.dedup import ExactDedup, MinHashDedup

    with BeamTestPipeline() as p:
        ex = p | beam.Create(corpus["docs"]) | ExactDedup(ExactDedupConfig())
        mh = ex["kept"] | MinHashDedup(MinHashDedupConfig())
        assert_that(mh["kept"] | "Ids" >> beam.Map(lambda d: d.id), equal_to(sorted(kept)), label="Kept")
        rejected = (ex["rejected"], mh["rejected"]) | beam.Flatten()
        assert_that(
            rejected | "Why" >> beam.Map(lambda r: (r.doc.id, r.filter)),
            equal_to([(k, r.filter) for k, r in rej.items()]),
            label="Rejected",
        )
