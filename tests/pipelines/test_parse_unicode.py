"""Lone surrogates (valid JSON escapes, invalid UTF-8) are repaired at parse time in every
field, counted in ``metadata["unicode_repaired"]``, and a run with them completes and balances."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from gristmill.config import InputConfig, parse_config
from gristmill.pipelines.parse import REPAIRED_KEY, parse_or_error
from gristmill.pipelines.readers import RAW_PREFIX_BYTES, InputFile, RawRecord, read_file
from gristmill.pipelines.run import run_pipeline
from gristmill.schemas import Document, entries_to_dict, repair_text

R = "\ufffd"

# JSON text as it sits on disk: the escapes are plain ASCII, json.loads makes them lone surrogates
LINES = [
    r'{"id": "t1", "text": "lone \ud800 high and \udfff low surrogate, then a real pair \ud83d\ude00 here"}',
    r'{"id": "id\udc80x", "text": "the id has a lone low surrogate in it for sure"}',
    r'{"id": "k1", "text": "a metadata key is broken in this one", "ta\ud801g": "ok"}',
    r'{"id": "v1", "text": "a metadata value is broken in this one", "tag": "v\udbff"}',
    r'{"id": "n1", "text": "a nested metadata value is broken here", "extra": {"k\ud800": ["x\udc00", 1]}}',
    r'{"id": "u1", "text": "the url and source are broken in this one", "url": "http://e/\ud800", "source": "s\udfff"}',
]


def _parse_lines(tmp_path: Path, lines: list[str]) -> list:
    path = tmp_path / "odd.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cfg = InputConfig()
    return [parse_or_error(r, cfg) for r in read_file(InputFile(str(path), path.name))]


def test_repair_text():
    assert repair_text("plain ascii") == ("plain ascii", 0)
    assert repair_text("déjà 😀") == ("déjà 😀", 0)
    assert repair_text("a\ud800b\udfff\udc80") == (f"a{R}b{R}{R}", 3)


def test_every_field_is_repaired_and_counted(tmp_path):
    docs = _parse_lines(tmp_path, LINES)
    assert all(isinstance(d, Document) for d in docs), docs
    t1, id1, k1, v1, n1, u1 = docs
    assert t1.text == f"lone {R} high and {R} low surrogate, then a real pair 😀 here"
    assert t1.metadata == {REPAIRED_KEY: "2"}  # the valid pair is one character, not a repair
    assert (id1.id, id1.metadata) == (f"id{R}x", {REPAIRED_KEY: "1"})
    assert k1.metadata == {f"ta{R}g": "ok", REPAIRED_KEY: "1"}
    assert v1.metadata == {"tag": f"v{R}", REPAIRED_KEY: "1"}
    assert json.loads(n1.metadata["extra"]) == {f"k{R}": [f"x{R}", 1]}
    assert n1.metadata[REPAIRED_KEY] == "2"
    assert (u1.url, u1.source, u1.metadata) == (f"http://e/{R}", f"s{R}", {REPAIRED_KEY: "2"})
    for d in docs:  # every string is now valid UTF-8
        for s in (d.id, d.text, d.source, d.url or "", *d.metadata, *d.metadata.values()):
            s.encode("utf-8")


def test_clean_documents_carry_no_repair_count(demo_dir, tmp_path):
    lines = (demo_dir / "corpus" / "sms_spam.jsonl").read_text().splitlines()[:20]
    docs = _parse_lines(tmp_path, lines)
    assert all(isinstance(d, Document) and REPAIRED_KEY not in d.metadata for d in docs)


def test_keys_that_repair_alike_are_both_kept(tmp_path):
    (doc,) = _parse_lines(tmp_path, [r'{"text": "two keys", "\ud800": "a", "\udfff": "b"}'])
    assert doc.metadata == {R: "a", R + R: "b", REPAIRED_KEY: "2"}


def test_parquet_rows_are_repaired_too():
    """Arrow strings cannot hold a lone surrogate, but a row dict handed to the parser can."""
    row = {"id": "p\ud800", "text": "t\udfff", "meta": {"k": "v\ud800"}}
    doc = parse_or_error(RawRecord("rows.parquet", 0, "parquet", row), InputConfig())
    assert (doc.id, doc.text, json.loads(doc.metadata["meta"])) == (f"p{R}", f"t{R}", {"k": f"v{R}"})
    assert doc.metadata[REPAIRED_KEY] == "3"


def test_surrogates_in_an_error_record_do_not_break_it(tmp_path):
    (err,) = _parse_lines(tmp_path, [r'{"te\ud800xt": "no text field, and a broken key"}'])
    assert err.error_type == "missing_text"
    err.message.encode("utf-8")
    assert err.raw == rb'{"te\ud800xt": "no text field, and a broken key"}'


# ---------------------------------------------------------------------------- whole pipeline


@pytest.fixture(scope="module")
def odd_run(demo_dir, tmp_path_factory) -> tuple[Path, dict]:
    """Real documents mixed with lone surrogates in every field, a BOM file and an oversize line."""
    d = tmp_path_factory.mktemp("odd")
    real = (demo_dir / "corpus" / "fortunes.jsonl").read_text().splitlines()
    copy = LINES[0].replace('"t1"', '"t2"')  # an exact duplicate of a repaired document
    (d / "mixed.jsonl").write_text("\n".join(real[:30] + LINES + [copy] + real[30:60]) + "\n", encoding="utf-8")
    big = json.dumps({"id": "big", "text": "word " * 600_000})
    (d / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + "\n".join(real[60:70] + [big] + real[70:80]).encode())
    cfg = parse_config({"input": {"max_record_bytes": 1 << 20}, "normalize": {},
                        "filters": [{"name": "word_count", "params": {"min_words": 8}}],
                        "dedup": {"exact": {}, "minhash": {}}})
    out = tmp_path_factory.mktemp("runs") / "odd"
    return out, run_pipeline([str(d)], str(out), cfg)


def _rows(run: Path, kind: str) -> list[dict]:
    return [r for p in sorted((run / kind).glob("*.parquet")) for r in pq.read_table(p).to_pylist()]


def test_run_with_surrogates_completes_and_balances(odd_run):
    out, s = odd_run
    assert s["balanced"] and s["input_records"] == 80 + len(LINES) + 2
    assert s["input_records"] == s["kept"] + s["rejected"] + s["errors"]
    assert not out.with_name(out.name + ".partial").exists()
    docs = {r["id"]: r for kind in ("kept", "rejected") for r in _rows(out, kind)}
    assert f"id{R}x" in docs and docs["t1"]["text"].startswith(f"lone {R} high")
    repaired = {i for i, r in docs.items() if REPAIRED_KEY in entries_to_dict(r["metadata"])}
    assert repaired == {"t1", "t2", f"id{R}x", "k1", "v1", "n1", "u1"}
    rejected = {r["id"]: r for r in _rows(out, "rejected")}
    assert rejected["t2"]["duplicate_of"] == "t1"  # dedup hashed and compared the repaired text


def test_run_reads_bom_file_and_bounds_the_oversize_line(odd_run, demo_dir):
    out, _ = odd_run
    (err,) = _rows(out, "errors")
    assert (err["input_file"], err["line"], err["error_type"]) == ("bom.jsonl", 11, "record_too_large")
    assert len(err["raw"]) <= RAW_PREFIX_BYTES and err["raw"].startswith(b'{"id": "big"')
    assert "sha256" in err["message"]
    real = (demo_dir / "corpus" / "fortunes.jsonl").read_text().splitlines()
    bom_ids = {json.loads(x)["id"] for x in real[60:80]}
    docs = {r["id"] for kind in ("kept", "rejected") for r in _rows(out, kind)}
    assert bom_ids <= docs  # the BOM file's first record included
