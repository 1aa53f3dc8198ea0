"""Readers on real bytes on disk: a BOM is skipped, an oversize record is reported without
ever being held whole, and what an error record keeps of bad bytes is bounded."""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import tracemalloc
from pathlib import Path

from gristmill.config import InputConfig
from gristmill.pipelines.parse import parse_or_error
from gristmill.pipelines.readers import RAW_PREFIX_BYTES, InputFile, RawRecord, read_file
from gristmill.schemas import Document, ErrorRecord

BOM = b"\xef\xbb\xbf"
MB = 1 << 20


def _read(path: Path, limit: int = 16 * MB) -> list[RawRecord | ErrorRecord]:
    return list(read_file(InputFile(str(path), path.name), max_record_bytes=limit))


def _parse(path: Path, limit: int = 16 * MB) -> list[Document | ErrorRecord]:
    cfg = InputConfig()
    return [r if isinstance(r, ErrorRecord) else parse_or_error(r, cfg) for r in _read(path, limit)]


def _real_lines(demo_dir: Path, n: int) -> list[bytes]:
    return (demo_dir / "corpus" / "sms_spam.jsonl").read_bytes().splitlines()[:n]


# ---------------------------------------------------------------------------- byte-order mark


def test_bom_jsonl_first_record_parses(demo_dir, tmp_path):
    lines = _real_lines(demo_dir, 5)
    (tmp_path / "bom.jsonl").write_bytes(BOM + b"\n".join(lines) + b"\n")
    docs = _parse(tmp_path / "bom.jsonl")
    assert all(isinstance(d, Document) for d in docs), docs
    assert [d.id for d in docs] == [json.loads(x)["id"] for x in lines]
    assert docs[0].text == json.loads(lines[0])["text"]


def test_bom_in_compressed_jsonl_is_skipped_after_decompression(demo_dir, tmp_path):
    lines = _real_lines(demo_dir, 3)
    (tmp_path / "bom.jsonl.gz").write_bytes(gzip.compress(BOM + b"\n".join(lines)))
    docs = _parse(tmp_path / "bom.jsonl.gz")
    assert [d.id for d in docs if isinstance(d, Document)] == [json.loads(x)["id"] for x in lines]


def test_bom_text_and_html_files_have_no_bom(tmp_path):
    (tmp_path / "note.txt").write_bytes(BOM + "Déjà vu, all over again.\n".encode())
    (tmp_path / "page.html").write_bytes(BOM + b"<html><body><p>First paragraph.</p></body></html>")
    (txt,) = _parse(tmp_path / "note.txt")
    (page,) = _parse(tmp_path / "page.html")
    assert txt.text == "Déjà vu, all over again.\n"
    assert page.text == "<html><body><p>First paragraph.</p></body></html>"  # markup: extract makes it text
    assert page.metadata["format"] == "html"


def test_only_a_leading_bom_is_skipped(demo_dir, tmp_path):
    """A BOM in the middle of a file is data, not a file marker; a BOM-only file has no records."""
    a, b = _real_lines(demo_dir, 2)
    (tmp_path / "mid.jsonl").write_bytes(a + b"\n" + BOM + b + b"\n")
    first, second = _parse(tmp_path / "mid.jsonl")
    assert isinstance(first, Document)
    assert isinstance(second, ErrorRecord) and second.error_type == "malformed_json"
    (tmp_path / "only.jsonl").write_bytes(BOM)
    assert _read(tmp_path / "only.jsonl") == []


# ---------------------------------------------------------------------------- oversize records


def test_oversize_jsonl_line_is_streamed_not_held(demo_dir, tmp_path):
    """A 50 MB line between good lines: one bounded error record, the lines after it still
    read, and reading never holds more than a few MB (the limit plus a chunk)."""
    good = _real_lines(demo_dir, 4)
    big = b'{"id": "big", "text": "' + b"spam and eggs " * (50 * MB // 14) + b'"}'
    size, sha = len(big), hashlib.sha256(big).hexdigest()
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"\n".join([good[0], good[1], big, good[2], good[3]]) + b"\n")
    del big

    tracemalloc.start()
    try:
        recs = _read(path, limit=MB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * MB, f"reading a {size}-byte line peaked at {peak} traced bytes"

    assert [type(r).__name__ for r in recs] == ["RawRecord", "RawRecord", "ErrorRecord", "RawRecord", "RawRecord"]
    err = recs[2]
    assert (err.error_type, err.line) == ("record_too_large", 3)
    assert err.raw.startswith(b'{"id": "big", "text": "spam and eggs')
    assert len(err.raw) == RAW_PREFIX_BYTES
    assert str(size) in err.message and sha in err.message
    assert [r.line for r in recs if isinstance(r, RawRecord)] == [1, 2, 4, 5]
    assert [r.payload for r in recs if isinstance(r, RawRecord)] == good


def test_oversize_line_in_gzip_and_a_line_at_the_limit(tmp_path):
    at_limit = b'{"text": "' + b"a" * (1000 - 12) + b'"}'
    over = b'{"text": "' + b"b" * 5000 + b'"}'
    assert len(at_limit) == 1000
    (tmp_path / "x.jsonl.gz").write_bytes(gzip.compress(at_limit + b"\n" + over + b"\nnot json\n"))
    recs = _read(tmp_path / "x.jsonl.gz", limit=1000)
    assert isinstance(recs[0], RawRecord) and recs[0].payload == at_limit
    assert recs[1].error_type == "record_too_large" and hashlib.sha256(over).hexdigest() in recs[1].message
    assert isinstance(recs[2], RawRecord) and recs[2].line == 3


def test_oversize_text_file_is_hashed_not_stored(demo_dir, tmp_path):
    body = (demo_dir / "corpus" / "literature.jsonl").read_bytes()
    body = body * (3 * MB // len(body) + 1)
    path = tmp_path / "huge.txt"
    path.write_bytes(body)
    tracemalloc.start()
    try:
        (err,) = _read(path, limit=256 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * MB, peak
    assert err.error_type == "record_too_large"
    assert err.raw == body[:RAW_PREFIX_BYTES]
    assert str(len(body)) in err.message and hashlib.sha256(body).hexdigest() in err.message


# ---------------------------------------------------------------------------- bounded raw bytes


def test_truncated_file_keeps_a_bounded_prefix_of_the_cut_line(demo_dir, tmp_path):
    rng = random.Random(1)
    long_line = json.dumps({"id": "long", "text": "".join(rng.choice("xyzw ") for _ in range(400_000))}).encode()
    blob = gzip.compress(b"\n".join(_real_lines(demo_dir, 3) + [long_line]) + b"\n")
    (tmp_path / "cut.jsonl.gz").write_bytes(blob[: len(blob) * 2 // 3])
    *docs, err = _read(tmp_path / "cut.jsonl.gz")
    assert len(docs) == 3
    assert err.error_type == "truncated_or_corrupt_file" and err.line == 4
    assert err.raw == long_line[:RAW_PREFIX_BYTES]
    assert "bytes; sha256 of all" in err.message


def test_parse_errors_keep_a_bounded_prefix(tmp_path):
    bad = b'{"id": "broken", "text": "' + b"never closed " * 20_000
    latin1 = b'{"id": "latin1", "text": "caf\xe9 ' + b"au lait " * 1000 + b'"}'
    (tmp_path / "bad.jsonl").write_bytes(bad + b"\n" + latin1 + b'\n{"id": "short", "text": 3}\n')
    e1, e2, e3 = _parse(tmp_path / "bad.jsonl")
    assert (e1.error_type, e2.error_type, e3.error_type) == ("malformed_json", "invalid_utf8", "text_not_string")
    for err, data in ((e1, bad), (e2, latin1)):
        assert err.raw == data[:RAW_PREFIX_BYTES]
        assert str(len(data)) in err.message and hashlib.sha256(data).hexdigest() in err.message
    assert e3.raw == b'{"id": "short", "text": 3}'  # small records are kept whole, message unchanged
    assert "sha256" not in e3.message


# ---------------------------------------------------------------------------- Parquet streaming


def test_parquet_batches_reads_a_row_group_at_a_time(tmp_path):
    """A merge opens up to 16 sorted runs at once; each must cost a row group, not its file.
    pyarrow's default ``pre_buffer`` read every row group up front: four readers of one run
    held four copies of it (at 1M documents, 340 MB per worker)."""
    from gristmill.pipelines.readers import parquet_batches
    from gristmill.pipelines.write_shards import RUN_ROW_GROUP, _write_run

    rng = random.Random(0)
    run = tmp_path / "run.parquet"
    # incompressible rows (a sorted run's pickled rows are ~1 KB): ~6 MB in 40 row groups
    _write_run(((f"{i:08d}", rng.randbytes(300)) for i in range(20_000)), str(run))
    size = run.stat().st_size
    assert size > 4 * MB
    tracemalloc.start()
    try:
        readers = [parquet_batches(str(run), batch_size=RUN_ROW_GROUP) for _ in range(4)]
        firsts = [next(r) for r in readers]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert all(b.num_rows == RUN_ROW_GROUP for b in firsts)
    assert peak < size / 4, f"4 open readers traced {peak / MB:.1f} MB of a {size / MB:.1f} MB file"
    # and they still read every row, in order
    rows = [k for b in parquet_batches(str(run), batch_size=RUN_ROW_GROUP) for k in b.column(0).to_pylist()]
    assert rows == [f"{i:08d}" for i in range(20_000)]
