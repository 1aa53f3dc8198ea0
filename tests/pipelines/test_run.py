"""The pipeline spine on real demo text: runners, workers, formats, output directory rules."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from gristmill.cli import main
from gristmill.config import parse_config
from gristmill.pipelines.run import run_pipeline
from gristmill.schemas import entries_to_dict

CFG = parse_config(
    {
        "normalize": {},
        "filters": [{"name": "word_count", "params": {"min_words": 8}}],
        "output": {"num_shards": 3},
    }
)


@pytest.fixture(scope="module")
def sample(demo_dir, tmp_path_factory) -> Path:
    """~1,500 real documents from every demo source, in several input formats."""
    d = tmp_path_factory.mktemp("sample")
    corpus = demo_dir / "corpus"
    sms = (corpus / "sms_spam.jsonl").read_bytes().splitlines(keepends=True)[:600]
    fort = (corpus / "fortunes.jsonl").read_bytes().splitlines(keepends=True)[:600]
    lit = [json.loads(x) for x in (corpus / "literature.jsonl").read_text().splitlines()[:60]]
    (d / "sms.jsonl").write_bytes(b"".join(sms))
    (d / "fortunes.jsonl.gz").write_bytes(gzip.compress(b"".join(fort)))
    (d / "more").mkdir()
    (d / "more" / "fortunes.jsonl.zst").write_bytes(
        zstandard.ZstdCompressor().compress(b"".join((corpus / "fortunes.jsonl").read_bytes().splitlines(keepends=True)[600:900]))
    )
    pq.write_table(pa.Table.from_pylist(lit[:50]), d / "literature.parquet")
    for r in lit[50:55]:
        (d / "more" / f"{r['id'].replace('/', '_').replace(':', '_')}.txt").write_text(r["text"])
    (d / "page.html").write_text(
        "<html><head><title>T</title><script>var x = 1;</script><style>p {}</style></head>"
        f"<body><h1>Scene</h1><p>{lit[56]['text'][:500]}</p><p>second &amp; last paragraph here.</p></body></html>"
    )
    return d


@pytest.fixture(scope="module")
def base_run(sample, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("runs") / "base"
    return out, run_pipeline([str(sample)], str(out), CFG)


def _files(run: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run)): p.read_bytes() for k in ("kept", "rejected", "errors") for p in sorted((run / k).glob("*.parquet"))}


def test_all_formats_read(base_run):
    out, s = base_run
    assert s["input_records"] == 600 + 600 + 300 + 50 + 5 + 1
    assert s["errors"] == 0 and s["balanced"]
    kept = pq.read_table(out / "kept").to_pylist()
    ids = {r["id"] for r in kept}
    assert any(i.startswith("sms:") for i in ids) and any(i.startswith("fortune/") for i in ids)
    assert "page.html" in ids
    page = next(r for r in kept if r["id"] == "page.html")
    assert "var x" not in page["text"] and "second & last paragraph here." in page["text"]
    assert entries_to_dict(page["metadata"])["format"] == "html"
    txt = [r for r in kept if r["id"].startswith("more/")]
    assert len(txt) == 5 and all(r["source"] == r["id"] for r in txt)
    # labels travel in metadata; scores are recorded for kept documents too
    sms = next(r for r in kept if r["id"].startswith("sms:"))
    assert entries_to_dict(sms["metadata"])["label"] in ("ham", "spam")
    assert entries_to_dict(sms["scores"])["word_count.words"] >= 8


def test_summary_contract(base_run):
    out, s = base_run
    on_disk = json.loads((out / "summary.json").read_text())
    for key in ("input_records", "kept", "rejected", "errors", "by_filter", "by_stage", "by_source",
                "config", "config_hash", "versions", "timings", "funnel"):
        assert key in on_disk
    assert on_disk["by_filter"]["word_count"]["word_count.too_few_words"] == s["rejected"]
    assert on_disk["metrics"]["filter.word_count.too_few_words"] == s["rejected"]
    assert on_disk["config_hash"] == CFG.digest()
    assert sum(v["input"] for v in on_disk["by_source"].values()) == s["kept"] + s["rejected"]
    assert on_disk["funnel"][-1]["documents"] == s["kept"]
    # files are written whole: no partial directory is left behind
    assert not Path(str(out) + ".partial").exists()


def test_two_workers_and_portable_runner_give_identical_bytes(sample, base_run, tmp_path):
    out, s = base_run
    expected = _files(out)
    multi = tmp_path / "multi"
    s2 = run_pipeline([str(sample)], str(multi), CFG, workers=2)
    assert _files(multi) == expected and s2["kept"] == s["kept"]
    # The path Flink and Spark take: pickling problems and hidden local state show up here.
    port = tmp_path / "portable"
    s3 = run_pipeline([str(sample)], str(port), CFG, runner="PortableRunner",
                      extra_args=["--job_endpoint=embed", "--environment_type=LOOPBACK"])
    assert _files(port) == expected and s3["kept"] == s["kept"]


def test_existing_output_refused_and_partial_cleaned(sample, tmp_path, capsys):
    out = tmp_path / "r"
    out.mkdir()
    with pytest.raises(FileExistsError, match="--overwrite"):
        run_pipeline([str(sample / "sms.jsonl")], str(out), CFG)
    # a crashed earlier run left a partial directory: it is removed and the run redone
    partial = Path(str(out) + ".partial")
    partial.mkdir()
    (partial / ".gristmill-run").write_text("{}")  # gristmill's own, so it may be removed
    (partial / "junk").write_text("left by a crash")
    s = run_pipeline([str(sample / "sms.jsonl")], str(out), CFG, overwrite=True)
    assert s["input_records"] == 600 and not partial.exists() and not (out / "junk").exists()


def test_missing_input_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="matches no file"):
        run_pipeline([str(tmp_path / "nope*.jsonl")], str(tmp_path / "o"), CFG)


def test_cli_run_with_config_file(sample, tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("normalize: {}\nfilters:\n  - name: word_count\n    params: {min_words: 8}\n")
    rc = main(["run", "--input", str(sample / "sms.jsonl"), "--output", str(tmp_path / "o"), "--config", str(cfg)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "word_count.too_few_words" in printed and "input = kept + rejected + errors: yes" in printed
    bad = tmp_path / "bad.yaml"
    bad.write_text("filters:\n  - name: word_count\n    params: {}\n    mdoe: filter\n")
    assert main(["run", "--input", str(sample / "sms.jsonl"), "--output", str(tmp_path / "o2"), "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "filters.0.mdoe: unknown key" in err and str(bad) in err


def test_default_config_runs_shipped_pipeline():
    from gristmill.config import DEFAULT_CONFIG, load_config

    cfg = load_config(None)
    assert cfg == load_config(DEFAULT_CONFIG)
    assert cfg.normalize is not None and cfg.filters, "the default config is the recommended pipeline"


def test_without_normalize_section_text_is_untouched(sample, tmp_path):
    cfg = parse_config({"filters": []})
    out = tmp_path / "raw"
    run_pipeline([str(sample / "sms.jsonl")], str(out), cfg)
    kept = {r["id"]: r["text"] for r in pq.read_table(out / "kept").to_pylist()}
    original = {json.loads(x)["id"]: json.loads(x)["text"] for x in (sample / "sms.jsonl").read_text().splitlines()}
    assert kept == {k: v for k, v in original.items() if v.strip()}
    shutil.rmtree(out)


def test_bad_filter_setup_fails_before_reading(sample, tmp_path, capsys):
    cfg = tmp_path / "m.yaml"
    cfg.write_text(
        "filters:\n  - name: fasttext\n"
        f"    params: {{model: {tmp_path / 'missing.bin'}, remove: [spam], tag: spam}}\n"
    )
    rc = main(["run", "--input", str(sample / "sms.jsonl"), "--output", str(tmp_path / "o"), "--config", str(cfg)])
    err = capsys.readouterr().err
    assert rc == 2 and "filter setup failed" in err and "missing.bin" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists() and not (tmp_path / "o.partial").exists()


def test_every_stage_counters_reach_the_summary(sample, tmp_path):
    """Found: dedup's counters used their own namespace and never reached summary.json."""
    import json as _json

    src = (sample / "sms.jsonl").read_text().splitlines()[:200]
    first = _json.loads(src[0])
    extra = [_json.dumps({**first, "id": "copy-of-first"}), '{"id": "blank", "text": "  "}', "{broken"]
    data = tmp_path / "in.jsonl"
    data.write_text("\n".join(src + extra) + "\n")
    cfg = parse_config({"normalize": {}, "filters": [{"name": "word_count", "params": {"min_words": 5}}],
                        "dedup": {"exact": {}, "minhash": {"threshold": 0.8}},
                        "tokenize": {"tokenizer": "gpt2"}})
    s = run_pipeline([str(data)], str(tmp_path / "r"), cfg)
    m = s["metrics"]
    assert m["errors"] == 1 and m["normalize.empty_text"] == 1
    assert m["filter.word_count.too_few_words"] == s["by_filter"]["word_count"]["word_count.too_few_words"]
    assert m["dedup.documents"] == s["kept"] + s["by_stage"]["dedup"]
    assert m["dedup.exact_duplicates"] >= 1
    assert m["tokenize.documents"] == s["kept"] and m["tokenize.tokens"] == s["tokens"]["tokens"]
