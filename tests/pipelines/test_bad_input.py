"""Bad input never crashes a run and never disappears: in = kept + rejected + errors."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from gristmill.config import parse_config
from gristmill.pipelines.run import run_pipeline

CFG = parse_config(
    {
        "normalize": {},
        "filters": [{"name": "word_count", "params": {"min_words": 3, "max_words": 100_000}}],
    }
)


def _read(run: Path, kind: str) -> list[dict]:
    rows: list[dict] = []
    for p in sorted((run / kind).glob("*.parquet")):
        rows += pq.read_table(p).to_pylist()
    return rows


@pytest.fixture(scope="module")
def bad_corpus(tmp_path_factory, demo_dir) -> Path:
    d = tmp_path_factory.mktemp("bad")
    real = [json.loads(x) for x in (demo_dir / "corpus" / "sms_spam.jsonl").read_text().splitlines()[:40]]
    lines = [json.dumps(r).encode() for r in real[:20]]
    lines += [
        b'{"id": "broken", "text": "unterminated',  # malformed JSON
        b'{"id": "latin1", "text": "caf\xe9 au lait is good"}',  # invalid UTF-8
        b'{"id": "notext", "body": "the text field is missing here"}',
        b'{"id": "numtext", "text": 12345}',  # non-string text
        b'{"id": "empty", "text": "   \\n\\t "}',  # empty after normalization
        b'{"id": "nul", "text": "has \\u0000 NUL \\u0000 bytes in it and more words"}',
        b'{"id": "rawnul", "text": "raw \x00 NUL byte in the line"}',
        b'["not", "an", "object"]',
        json.dumps({"id": "huge", "text": "word " * (4 * 1024 * 1024)}).encode(),  # 20 MB
        json.dumps({"id": real[0]["id"], "text": "a second record reusing an id"}).encode(),
    ]
    (d / "mixed.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    # a truncated .gz: the first records survive, the cut-off tail is one error record
    blob = gzip.compress(b"\n".join(json.dumps(r).encode() for r in real[20:40]) + b"\n")
    (d / "cut.jsonl.gz").write_bytes(blob[: len(blob) * 2 // 3])
    (d / "notes.xyz").write_text("unsupported file type")
    return d


@pytest.fixture(scope="module")
def bad_run(bad_corpus, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("runs") / "bad"
    s = run_pipeline([str(bad_corpus)], str(out), CFG)
    return out, s


def test_every_record_accounted_for(bad_run):
    out, s = bad_run
    assert s["balanced"]
    assert s["input_records"] == s["kept"] + s["rejected"] + s["errors"]
    assert s["kept"] == len(_read(out, "kept"))
    assert s["rejected"] == len(_read(out, "rejected"))
    assert s["errors"] == len(_read(out, "errors"))
    assert json.loads((out / "summary.json").read_text())["input_records"] == s["input_records"]


def test_errors_have_types_and_raw_bytes(bad_run):
    out, s = bad_run
    errs = _read(out, "errors")
    by_type = {e["error_type"]: e for e in errs}
    for t in ("malformed_json", "invalid_utf8", "missing_text", "text_not_string", "not_an_object",
              "record_too_large", "truncated_or_corrupt_file", "unsupported_file_type", "duplicate_id"):
        assert t in by_type, f"missing error type {t}: got {sorted(by_type)}"
    assert by_type["invalid_utf8"]["raw"] == b'{"id": "latin1", "text": "caf\xe9 au lait is good"}'
    bad_json_lines = sorted(e["line"] for e in errs if e["error_type"] == "malformed_json")
    assert bad_json_lines == [21, 27]  # unterminated string; a raw NUL byte inside a JSON string
    assert by_type["record_too_large"]["raw"].startswith(b'{"id": "huge"')
    assert by_type["truncated_or_corrupt_file"]["input_file"] == "cut.jsonl.gz"
    assert by_type["duplicate_id"]["raw"] == b"a second record reusing an id"
    assert s["errors_by_type"]["malformed_json"] == 2


def test_empty_and_nul_documents(bad_run):
    out, _ = bad_run
    rej = {r["id"]: r for r in _read(out, "rejected")}
    assert rej["empty"]["reason"] == "normalize.empty_text"
    assert rej["empty"]["stage"] == "normalize"
    kept = {r["id"]: r for r in _read(out, "kept")}
    assert kept["nul"]["text"] == "has  NUL  bytes in it and more words"
    assert "\x00" not in "".join(r["text"] for r in kept.values())


def test_truncated_gzip_keeps_the_readable_part(bad_run):
    out, _ = bad_run
    kept_or_rej = {r["id"] for r in _read(out, "kept")} | {r["id"] for r in _read(out, "rejected")}
    survivors = [i for i in kept_or_rej if i.startswith("sms:") and int(i.split(":")[1]) >= 20]
    assert 0 < len(survivors) < 20


def test_rerun_is_byte_identical(bad_corpus, bad_run, tmp_path):
    out, _ = bad_run
    again = tmp_path / "again"
    run_pipeline([str(bad_corpus)], str(again), CFG)
    for kind in ("kept", "rejected", "errors"):
        a = sorted(p.name for p in (out / kind).glob("*.parquet"))
        assert a == sorted(p.name for p in (again / kind).glob("*.parquet"))
        for name in a:
            assert (out / kind / name).read_bytes() == (again / kind / name).read_bytes(), f"{kind}/{name}"
