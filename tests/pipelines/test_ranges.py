"""Bounded reading: a file split into ranges reads exactly the records of a whole-file read
(same bytes, same line numbers, so the same default ids), and a run with a tiny
``input.split_bytes`` writes the same files as one with the default."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gristmill.config import parse_config
from gristmill.pipelines import readers
from gristmill.pipelines.readers import FileRange, InputFile, read_file, read_range, split_file
from gristmill.pipelines.run import run_pipeline

BOM = b"\xef\xbb\xbf"


def _ranged(path: Path, target: int) -> tuple[list[FileRange], list]:
    f = InputFile(str(path), path.name)
    ranges = split_file(f, "auto", target)
    return ranges, [rec for r in ranges for rec in read_range(r)]


def _whole(path: Path) -> list:
    return list(read_file(InputFile(str(path), path.name)))


def _demo_lines(demo_dir: Path, n: int) -> list[bytes]:
    return (demo_dir / "corpus" / "fortunes.jsonl").read_bytes().splitlines()[:n]


@pytest.mark.parametrize("target", [4096, 5000, 65536])
def test_jsonl_ranges_read_the_same_records_with_the_same_lines(demo_dir, tmp_path, monkeypatch, target):
    """Blank lines, a BOM, a line longer than the scan chunk and than the target, and no final
    newline: ranges start at line starts and number lines as the whole file does."""
    monkeypatch.setattr(readers, "_SCAN_CHUNK", 3000)  # lines cross chunk ends while scanning
    lines = _demo_lines(demo_dir, 300)
    lines[40] = json.dumps({"text": "long " * 4000}).encode()  # 20 KB: spans chunks and ranges
    lines[41:43] = [b"", b"   "]
    path = tmp_path / "c.jsonl"
    path.write_bytes(BOM + b"\n".join(lines))  # no final newline
    ranges, got = _ranged(path, target)
    longest = max(len(x) for x in lines) + 1
    assert len(ranges) >= 3
    assert all(r.end - r.start < target + longest for r in ranges[:-1])  # the budget, plus a line
    assert got == _whole(path)
    assert [r.line for r in got] == [i + 1 for i, x in enumerate(lines) if x.strip()]
    assert ranges[0].start == 0 and all(a.end == b.start for a, b in zip(ranges, ranges[1:], strict=False))
    assert ranges[-1].end is None


def test_a_file_ending_at_a_cut_has_no_empty_range(tmp_path):
    line = json.dumps({"text": "x" * 4090}).encode()  # 4101 bytes with its newline
    path = tmp_path / "exact.jsonl"
    path.write_bytes((line + b"\n") * 3)
    ranges, got = _ranged(path, 4096)
    assert [r.line for r in got] == [1, 2, 3]
    assert len(ranges) == 3 and all(list(read_range(r)) for r in ranges)


def test_small_and_compressed_files_are_one_range(demo_dir, tmp_path):
    body = b"\n".join(_demo_lines(demo_dir, 200)) + b"\n"
    (tmp_path / "small.jsonl").write_bytes(body[:3000])
    (tmp_path / "big.jsonl.gz").write_bytes(gzip.compress(body))
    for name in ("small.jsonl", "big.jsonl.gz"):
        ranges, got = _ranged(tmp_path / name, 4096)
        assert ranges == [FileRange(InputFile(str(tmp_path / name), name))]
        assert got == _whole(tmp_path / name)


def test_gzip_bomb_is_streamed_in_bounded_pieces(tmp_path, monkeypatch):
    """A highly compressible member: every piece of output is at most the bound."""
    sizes = []
    real = readers._decompress_some

    def spy(d, data):
        out = real(d, data)
        sizes.append(len(out[0]))
        return out

    monkeypatch.setattr(readers, "_decompress_some", spy)
    line = b'{"text": "' + b"a" * (12 << 20) + b'"}\n'
    (tmp_path / "bomb.jsonl.gz").write_bytes(gzip.compress(line + b'{"text": "after"}\n'))
    recs = list(read_file(InputFile(str(tmp_path / "bomb.jsonl.gz"), "bomb.jsonl.gz"), max_record_bytes=1 << 20))
    assert [getattr(r, "error_type", None) for r in recs] == ["record_too_large", None]
    assert max(sizes) <= readers._MAX_OUT and len(sizes) >= 3


def test_parquet_ranges_are_row_groups_with_row_numbers(tmp_path):
    texts = [f"document number {i} " * 20 for i in range(1000)]
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"text": texts}), path, row_group_size=100)
    ranges, got = _ranged(path, 30_000)
    assert 3 <= len(ranges) <= 10
    assert got == _whole(path)
    assert [r.line for r in got] == list(range(1000))


def _demo_slice(demo_dir: Path, dest: Path) -> Path:
    dest.mkdir()
    for fn, n in (("fortunes.jsonl", 600), ("sms_spam.jsonl", 300)):
        rows = [json.loads(x) for x in (demo_dir / "corpus" / fn).read_bytes().splitlines()[:n]]
        if fn == "fortunes.jsonl":
            rows = [{k: v for k, v in r.items() if k != "id"} for r in rows]  # default ids
        (dest / fn).write_text("".join(json.dumps(r) + "\n" for r in rows))
    rows = [json.loads(x) for x in (demo_dir / "corpus" / "sms_spam.jsonl").read_bytes().splitlines()[300:700]]
    for r in rows:
        r.pop("id", None)  # default ids <file>:<line> from a split Parquet file
    pq.write_table(pa.Table.from_pylist(rows), dest / "rows.parquet", row_group_size=50)
    return dest


def test_run_with_tiny_ranges_writes_the_same_files(demo_dir, tmp_path):
    """The same input read as one range per file and as ~4 KB ranges: byte-identical outputs,
    default ids included (the fortunes have no ids: ``fortunes.jsonl:<line>``)."""
    corpus = _demo_slice(demo_dir, tmp_path / "in")
    outs = {}
    for split in (64 << 20, 4096):
        cfg = parse_config({"input": {"split_bytes": split}, "normalize": {},
                            "filters": [{"name": "word_count", "params": {"min_words": 5}}],
                            "dedup": {"exact": {}, "minhash": {}}})
        out = tmp_path / f"run-{split}"
        s = run_pipeline([str(corpus)], str(out), cfg)
        assert s["balanced"] and s["input_records"] == 1300
        outs[split] = {p.relative_to(out): p.read_bytes() for p in sorted(out.glob("*/*.parquet"))}
    assert outs[4096] == outs[64 << 20]
    kept = pq.read_table(tmp_path / "run-4096" / "kept", columns=["id"]).column("id").to_pylist()
    assert sum(k.startswith("fortunes.jsonl:") for k in kept) > 300
    assert sum(k.startswith("rows.parquet:") for k in kept) > 200


def test_every_codec_streams_to_the_same_records(demo_dir, tmp_path):
    """gzip, bzip2 and zstd (two frames) through the bounded decompression: the records of the
    plain file, and no error."""
    import bz2

    import zstandard

    body = b"\n".join(_demo_lines(demo_dir, 400)) + b"\n"
    half = len(body) // 2
    (tmp_path / "a.jsonl").write_bytes(body)
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(body))
    (tmp_path / "a.jsonl.bz2").write_bytes(bz2.compress(body))
    z = zstandard.ZstdCompressor()
    (tmp_path / "a.jsonl.zst").write_bytes(z.compress(body[:half]) + z.compress(body[half:]))
    plain = [(r.line, r.payload) for r in _whole(tmp_path / "a.jsonl")]
    assert len(plain) == 400
    for name in ("a.jsonl.gz", "a.jsonl.bz2", "a.jsonl.zst"):
        assert [(r.line, r.payload) for r in _whole(tmp_path / name)] == plain, name
