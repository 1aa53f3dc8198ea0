"""FastWARC vs warcio vs gristmill's reader on the same WARC bytes: speed and robustness.

    PYTHONPATH=src python benchmarks/warc_readers.py [--pages 2000]

Builds a ``.warc.gz`` of real pages (the standard library's pydoc pages, as the tests write
them: ``tests/pipelines/warc_util.py``; each page is archived under several URLs to reach
``--pages`` responses, each with its request record), then:

1. speed: records/s and compressed MB/s reading every record and its payload, for FastWARC,
   warcio and ``gristmill.pipelines.warc.read_warc`` (gzip-member framing + FastWARC parsing),
   and the MB/s of ``split_ranges``' first pass;
2. robustness: on a truncated gzip member, a Content-Length too long / too short (gzip and
   plain) and garbage between records, how many of the file's responses each reader returns
   and whether it raised (on a 100-page WARC). About a minute on one slow core, most of it
   writing the WARC.
"""

from __future__ import annotations

import argparse
import gzip
import io
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "pipelines"))

from warc_util import MODULES, Page, gzip_members, html_pages, write_warc  # noqa: E402

from gristmill.pipelines.warc import SkippedRecord, read_warc, split_ranges  # noqa: E402
from gristmill.schemas import ErrorRecord  # noqa: E402


def build(path: Path, n_pages: int) -> None:
    base = html_pages(len(MODULES))
    pages = [Page(f"{p.url}?copy={i}", p.body, p.content_type) for i in range(n_pages // len(base) + 1) for p in base]
    write_warc(path, pages[:n_pages])


def fastwarc_responses(data: bytes) -> tuple[int, str]:
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    n = 0
    try:
        for rec in ArchiveIterator(io.BytesIO(data), record_types=WarcRecordType.response, parse_http=True):
            rec.reader.read()
            n += 1
    except Exception as e:
        return n, type(e).__name__
    return n, ""


def warcio_responses(data: bytes) -> tuple[int, str]:
    from warcio.archiveiterator import ArchiveIterator

    n = 0
    try:
        for rec in ArchiveIterator(io.BytesIO(data)):
            if rec.rec_type == "response":
                rec.content_stream().read()
                n += 1
    except Exception as e:
        return n, type(e).__name__
    return n, ""


def gristmill_responses(data: bytes, name: str = "x.warc.gz") -> tuple[int, str]:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / name
        p.write_bytes(data)
        out = list(read_warc(name, str(p), 16 << 20))
    n = sum(1 for r in out if not isinstance(r, SkippedRecord | ErrorRecord)
            or (isinstance(r, SkippedRecord) and r.kind.startswith("response:")))
    errors = [r.error_type for r in out if isinstance(r, ErrorRecord)]
    return n, ",".join(errors)


def speed(path: Path) -> None:
    data = path.read_bytes()
    mb = len(data) / 1e6
    print(f"speed on {path.name}: {mb:.1f} MB, {len(gzip_members(data))} gzip members")
    for name, fn in (("fastwarc", fastwarc_responses), ("warcio", warcio_responses),
                     ("gristmill", gristmill_responses)):
        t = time.perf_counter()
        n, _ = fn(data)
        s = time.perf_counter() - t
        print(f"  {name:10s} {n:6d} responses  {n / s:9,.0f} responses/s  {mb / s:6.1f} MB/s")
    t = time.perf_counter()
    ranges = split_ranges(str(path), 1 << 20)
    s = time.perf_counter() - t
    print(f"  split_ranges first pass: {len(ranges)} ranges of ~1 MB, {mb / s:.0f} MB/s")


def _lie(record: bytes, delta: int) -> bytes:
    i = record.index(b"\r\nContent-Length: ") + 18
    j = record.index(b"\r\n", i)
    return record[:i] + str(int(record[i:j]) + delta).encode() + record[j:]


def robustness(path: Path) -> None:
    data = path.read_bytes()
    members = gzip_members(data)
    s, e = members[1]  # the first response
    rec = gzip.decompress(data[s:e])
    plain = b"".join(gzip.decompress(data[a:b]) for a, b in members)
    ps = plain.index(b"WARC/1.", 10)
    cases = {
        "truncated gzip member": (data[:s] + data[s:(s + e) // 2] + data[e:], ".gz"),
        "Content-Length too long (gz)": (data[:s] + gzip.compress(_lie(rec, 300)) + data[e:], ".gz"),
        "Content-Length too short (gz)": (data[:s] + gzip.compress(_lie(rec, -300)) + data[e:], ".gz"),
        "garbage between members": (data[:s] + b"garbage\n" * 20 + data[s:], ".gz"),
        "Content-Length too long (plain)": (plain[:ps] + _lie(plain[ps:], 300), ""),
        "garbage between records (plain)": (plain[:ps] + b"garbage\r\n" * 20 + plain[ps:], ""),
    }
    total = fastwarc_responses(data)[0]
    print(f"robustness: responses returned of {total} (the damaged one is lost where noted); exception raised")
    print(f"  {'case':34s} {'fastwarc':>18s} {'warcio':>18s}   gristmill (error records)")
    for case, (bad, ext) in cases.items():
        fw, fe = fastwarc_responses(bad)
        wi, we = warcio_responses(bad)
        gm, ge = gristmill_responses(bad, "x.warc" + ext)
        print(f"  {case:34s} {fw:6d} {fe[:11]:>11s} {wi:6d} {we[:11]:>11s}   {gm:6d} ({ge})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, default=2000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "bench.warc.gz"
        build(path, args.pages)
        speed(path)
        small = Path(d) / "small.warc.gz"
        build(small, 100)
        robustness(small)


if __name__ == "__main__":
    main()
