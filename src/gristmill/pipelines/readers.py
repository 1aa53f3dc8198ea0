"""Corpus readers: JSONL (plain, .gz, .zst, .bz2), Parquet, plain text and HTML files; crawl
formats (WARC, WET, ARC) are read by ``warc``.

All file access goes through Beam's ``FileSystems`` so the same code reads ``gs://``,
``s3://`` or ``hdfs://`` on a cluster. A reader never raises for bad data: every input record
comes out either as a ``RawRecord`` (to be parsed) or as an ``ErrorRecord`` (unreadable
bytes, a truncated compressed file, an unsupported file type). That is what lets the run
guarantee ``input_records == kept + rejected + errors``.
"""

from __future__ import annotations

import bz2
import fnmatch
import hashlib
import html.parser
import os
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from gristmill.schemas import ErrorRecord, repair_text

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
COMPRESSED_SUFFIXES = (".gz", ".zst", ".zstd", ".bz2")
TEXT_SUFFIXES = (".txt", ".text", ".md")
HTML_SUFFIXES = (".html", ".htm")
PARQUET_SUFFIXES = (".parquet",)
CRAWL_SUFFIXES = (".warc", ".warc.gz", ".wet", ".wet.gz", ".arc", ".arc.gz")  # warc.read_warc
UTF8_BOM = b"\xef\xbb\xbf"

RAW_PREFIX_BYTES = 4096
"""How much of a bad record ``ErrorRecord.raw`` keeps. Enough to see what is wrong with it (the
start of a JSON line, the head of a page); the message then gives the full length and sha256,
so the record can be found in the input and checked. Bounded so that ``errors/`` (and a run's
memory) stays small however large a bad record is."""


@dataclass(frozen=True)
class InputFile:
    """A file to read: its full path and the short name used in ids and error records."""

    path: str
    name: str


@dataclass
class RawRecord:
    """One record as read, before parsing. ``payload`` is bytes (a JSONL line, or a whole
    text/HTML file with any BOM removed) or a dict (a Parquet row)."""

    file: str
    line: int | None
    fmt: str
    payload: Any


@dataclass(frozen=True)
class FileRange:
    """A part of one input file that a worker reads on its own: the unit of reading.

    ``start`` and ``end`` are positions in the format's own unit (bytes of a JSONL file, row
    groups of a Parquet file); ``end=None`` reads to the end of the file, so ``FileRange(f)``
    is the whole file. ``first_line`` is the number of records before ``start`` (lines of a
    JSONL file, rows of a Parquet file), so a record's line number, and the default id
    ``<file>:<line>``, do not depend on how the file was split.
    """

    file: InputFile
    start: int = 0
    end: int | None = None
    first_line: int = 0


@dataclass(frozen=True)
class RangeFormat:
    """How a format splits into ranges and reads one: the pair a new format provides.

    ``split(f, target)`` -> ranges of about ``target`` bytes that together cover the file once,
    each starting at a record boundary (it may read the file to find them); ``read(r, limit)``
    -> the records of one range, as ``read_file`` yields them.
    """

    split: Callable[[InputFile, int], list[FileRange]]
    read: Callable[[FileRange, int], Iterator[RawRecord | ErrorRecord]]


def detect_format(path: str, fmt: str = "auto") -> str | None:
    if fmt != "auto":
        return fmt
    p = path.lower()
    if p.endswith(CRAWL_SUFFIXES):
        return "warc"
    for suf in COMPRESSED_SUFFIXES:
        if p.endswith(suf):
            p = p[: -len(suf)]
            break
    if p.endswith(JSONL_SUFFIXES):
        return "jsonl"
    if p.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if p.endswith(TEXT_SUFFIXES):
        return "text"
    if p.endswith(HTML_SUFFIXES):
        return "html"
    return None


def _has_glob(p: str) -> bool:
    return any(c in p for c in "*?[")


def expand_inputs(inputs: list[str]) -> list[InputFile]:
    """Paths, directories (recursively) and globs -> a sorted, de-duplicated file list.

    Names are relative to a directory argument, or the base name otherwise, so ids do not
    depend on where the corpus sits on disk. Hidden files and ``.crc``-style sidecars are
    skipped in directories; a path that matches nothing is an error (a typo must not give
    an empty run). A name with bytes that are not UTF-8 (which Python holds as lone
    surrogates) gets U+FFFD in their place, since names end up in ids and Parquet strings.
    """
    out: dict[str, InputFile] = {}
    for inp in inputs:
        if "://" not in inp and os.path.isdir(inp):
            root = inp.rstrip("/")
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "_")))
                for fn in sorted(filenames):
                    if fn.startswith((".", "_")):
                        continue
                    full = os.path.join(dirpath, fn)
                    out.setdefault(full, InputFile(full, repair_text(os.path.relpath(full, root))[0]))
            continue
        pattern = inp
        if "://" in inp and not _has_glob(inp) and inp.endswith("/"):
            pattern = inp + "*"
        matches = FileSystems.match([pattern])[0].metadata_list
        if not matches:
            raise FileNotFoundError(f"input {inp!r} matches no file")
        for m in sorted(matches, key=lambda m: m.path):
            base = m.path.rstrip("/").rsplit("/", 1)[-1]
            if _has_glob(inp) and not fnmatch.fnmatch(base, pattern.rsplit("/", 1)[-1]):
                continue
            out.setdefault(m.path, InputFile(m.path, repair_text(base)[0]))
    return [out[k] for k in sorted(out)]


def read_file(f: InputFile, fmt: str = "auto", max_record_bytes: int = 16 << 20) -> Iterator[RawRecord | ErrorRecord]:
    """Yield every record of one file, or an ErrorRecord where the bytes cannot be read."""
    return read_range(FileRange(f), fmt, max_record_bytes)


def read_range(r: FileRange, fmt: str = "auto", max_record_bytes: int = 16 << 20) -> Iterator[RawRecord | ErrorRecord]:
    """Yield every record of one file range (``split_file``), or an ErrorRecord where the
    bytes cannot be read."""
    f = r.file
    kind = detect_format(f.path, fmt)
    if kind is None:
        yield ErrorRecord(f.name, None, "unsupported_file_type",
                          f"cannot tell the format of {f.path!r}: use .jsonl[.gz|.zst], .parquet, .txt, .html or"
                          " .warc[.gz]/.wet[.gz]/.arc.gz, "
                          "or set input.format")
        return
    try:
        if kind in RANGE_FORMATS:
            yield from RANGE_FORMATS[kind].read(r, max_record_bytes)
        else:
            yield from _read_whole(f, kind, max_record_bytes)
    except Exception as e:  # an unreadable file is one error record, never a crashed run
        yield ErrorRecord(f.name, None, "unreadable_file", f"{type(e).__name__}: {e}")


def split_file(f: InputFile, fmt: str = "auto", split_bytes: int = 64 << 20) -> list[FileRange]:
    """The ranges one file is read as, each of about ``split_bytes`` (``input.split_bytes``),
    so that no element of the read carries more than that budget of input. A file at most
    that size, a format without ranges (text, HTML: one document per file) or a file whose
    splitting fails (the read then reports why) is one range, the whole file."""
    kind = detect_format(f.path, fmt)
    if kind not in RANGE_FORMATS:
        return [FileRange(f)]
    try:
        return RANGE_FORMATS[kind].split(f, split_bytes) or [FileRange(f)]
    except Exception:  # unreadable: read_range turns the same failure into an error record
        return [FileRange(f)]


def file_size(path: str) -> int:
    """Size in bytes of a file on any Beam filesystem."""
    if "://" not in path:
        return os.path.getsize(path)
    return FileSystems.match([path])[0].metadata_list[0].size_in_bytes


class TruncatedInput(EOFError):
    """A compressed stream ended in the middle of a member/frame."""


def _decompressor(kind: str):
    if kind == "gzip":
        return zlib.decompressobj(wbits=47)  # gzip or zlib header, auto-detected
    if kind == "bzip2":
        return bz2.BZ2Decompressor()
    if kind == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().decompressobj()
    raise ValueError(kind)


def _chunks(path: str, chunk_size: int = 1 << 20, start: int = 0, end: int | None = None) -> Iterator[bytes]:
    """The decompressed bytes of a file, raising TruncatedInput on a cut-off stream.

    Beam's own ``CompressedFile`` reports a truncated .gz or .zst as a clean end of file,
    which would silently drop the rest of the file; we decompress with the codecs' own
    objects and check that the last member/frame really ended. Concatenated members
    (multi-member gzip, several zstd frames) are read in sequence. A single compressed stream
    cannot be entered in the middle, so only an uncompressed file is read from ``start`` to
    ``end``; a compressed one is streamed whole, ``chunk_size`` of compressed input at a time
    (gzip and bzip2 output is also taken at most ``_MAX_OUT`` at a time).
    """
    kind = CompressionTypes.detect_compression_type(path)
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as fh:
        if kind == CompressionTypes.UNCOMPRESSED:
            if start:
                fh.seek(start)
            left = -1 if end is None else end - start
            while left and (chunk := fh.read(chunk_size if left < 0 else min(chunk_size, left))):
                left -= len(chunk) if left > 0 else 0
                yield chunk
            return
        if start or end is not None:
            raise ValueError(f"a compressed file is read whole, not from byte {start}: {path}")
        name = {CompressionTypes.GZIP: "gzip", CompressionTypes.BZIP2: "bzip2", CompressionTypes.ZSTD: "zstd"}.get(kind)
        if name is None:
            raise ValueError(f"unsupported compression {kind} for {path}")
        d = _decompressor(name)
        started = False
        while chunk := fh.read(chunk_size):
            data, pending = chunk, False
            while data or pending:
                started = True
                out, data, pending = _decompress_some(d, data)
                if out:
                    yield out
                if d.eof:
                    data, pending = d.unused_data + data, False
                    d = _decompressor(name)
                    started = False
        if started:
            raise TruncatedInput(f"{name} stream ends before its end marker (file truncated?)")


_ZLIB = type(zlib.decompressobj())
_MAX_OUT = 4 << 20
"""The most decompressed bytes taken from one gzip or bzip2 call: a highly compressible
input (a run of zeros compresses 1000:1) must not turn one 1 MiB read into 1 GiB."""


def _decompress_some(d, data: bytes) -> tuple[bytes, bytes, bool]:
    """One bounded decompress call: (output, input to pass again, whether output is still
    pending inside ``d``). zstd's decompressobj has no output limit; its output per call
    follows the 1 MiB of compressed input it is given."""
    if isinstance(d, bz2.BZ2Decompressor):  # keeps unread input itself
        out = d.decompress(data, max_length=_MAX_OUT)
        return out, b"", not d.eof and not d.needs_input
    if isinstance(d, _ZLIB):  # hands back the input it did not read
        out = d.decompress(data, _MAX_OUT)
        return out, d.unconsumed_tail, len(out) == _MAX_OUT and not d.eof
    return d.decompress(data), b"", False


def _read_jsonl(f: InputFile, max_record_bytes: int, start: int = 0, end: int | None = None,
                first_line: int = 0) -> Iterator[RawRecord | ErrorRecord]:
    """One RawRecord per non-blank line, streamed: a line is held as a list of pieces and
    joined once it ends (``buf += chunk`` would be quadratic in a long line), and a line over
    ``max_record_bytes`` is only counted and hashed from then on, so memory stays within the
    limit plus a chunk however long a line is. With a range, bytes ``start``..``end`` (which
    begin at a line start, see ``_split_jsonl``) are read, numbering lines from ``first_line``."""
    lineno = first_line
    rec = _PendingRecord(max_record_bytes)
    chunks = _chunks(f.path, start=start, end=end)
    try:
        for chunk in _skip_bom(chunks) if start == 0 else chunks:
            *ends, rest = chunk.split(b"\n")
            for i, piece in enumerate(ends):
                lineno += 1
                if i and 0 < len(piece) <= max_record_bytes and not piece.isspace():
                    yield RawRecord(f.name, lineno, "jsonl", piece)  # the common case: a line inside one chunk
                    continue
                rec.add(piece)
                out = rec.take(f.name, lineno, "jsonl")
                if out is not None:
                    yield out
            rec.add(rest)
    except (TruncatedInput, OSError, EOFError, zlib.error, ValueError) as e:
        raw, note = rec.partial()
        yield ErrorRecord(
            f.name, lineno + 1, "truncated_or_corrupt_file",
            f"{type(e).__name__}: {e} (reading stopped at line {lineno + 1}; the {lineno} lines before it were read)"
            + note,
            raw or None,
        )
        return
    out = rec.take(f.name, lineno + 1, "jsonl")
    if out is not None:
        yield out


def _skip_bom(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The chunks with a UTF-8 byte-order mark at the very start dropped: editors on Windows
    write one, and left in it makes the first JSON line malformed or starts a text with U+FEFF."""
    head = b""
    for chunk in chunks:
        head += chunk
        if len(head) >= len(UTF8_BOM) or not UTF8_BOM.startswith(head):
            break
    yield head[len(UTF8_BOM):] if head.startswith(UTF8_BOM) else head
    yield from chunks


class _Fingerprint:
    """Length, sha256 and first ``RAW_PREFIX_BYTES`` of bytes fed piece by piece: all an error
    record keeps of a record too large (or too broken) to store whole."""

    def __init__(self) -> None:
        self.size = 0
        self.sha = hashlib.sha256()
        self.prefix = bytearray()

    def update(self, data: bytes) -> None:
        if len(self.prefix) < RAW_PREFIX_BYTES:
            self.prefix += data[: RAW_PREFIX_BYTES - len(self.prefix)]
        self.size += len(data)
        self.sha.update(data)

    def note(self) -> str:
        """What to add to the error message when ``raw`` holds only a prefix ("" otherwise)."""
        if self.size <= len(self.prefix):
            return ""
        return (f" [errors/raw keeps the first {len(self.prefix)} of {self.size} bytes;"
                f" sha256 of all {self.size}: {self.sha.hexdigest()}]")


def bounded_raw(data: bytes) -> tuple[bytes, str]:
    """What an ErrorRecord keeps of a bad record's bytes: all of them up to RAW_PREFIX_BYTES,
    else the prefix and a note (full length and sha256) to append to the error message."""
    if len(data) <= RAW_PREFIX_BYTES:
        return data, ""
    fp = _Fingerprint()
    fp.update(data)
    return bytes(fp.prefix), fp.note()


class _PendingRecord:
    """The bytes of the record being read: held as pieces up to ``limit`` bytes; past it the
    pieces are dropped and the rest is only fingerprinted, so the record is reported as
    ``record_too_large`` without ever being held whole."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._reset()

    def _reset(self) -> None:
        self.pieces: list[bytes] = []
        self.size = 0
        self.big: _Fingerprint | None = None

    def add(self, data: bytes) -> None:
        if not data:
            return
        if self.big is not None:
            self.big.update(data)
            return
        self.pieces.append(data)
        self.size += len(data)
        if self.size > self.limit:
            self.big = _Fingerprint()
            for p in self.pieces:
                self.big.update(p)
            self.pieces = []

    def take(self, file: str, line: int | None, fmt: str) -> RawRecord | ErrorRecord | None:
        """The finished record (None for a blank JSONL line), and start the next one."""
        big, data = self.big, b"".join(self.pieces)
        self._reset()
        if big is not None:
            return ErrorRecord(file, line, "record_too_large",
                               f"record is {big.size} bytes, over input.max_record_bytes={self.limit}"
                               f" (sha256 {big.sha.hexdigest()}; errors/raw keeps its first {len(big.prefix)} bytes)",
                               bytes(big.prefix))
        if fmt == "jsonl" and (not data or data.isspace()):
            return None
        return RawRecord(file, line, fmt, data)

    def partial(self) -> tuple[bytes, str]:
        """(bounded raw bytes, message note) of a record cut off by a read error."""
        if self.big is not None:
            return bytes(self.big.prefix), self.big.note()
        return bounded_raw(b"".join(self.pieces))


def parquet_batches(path: str, columns: list[str] | None = None, batch_size: int = 1024,
                    groups: tuple[int, int | None] | None = None) -> Iterator[Any]:
    """Record batches of a Parquet file on any Beam filesystem, streamed (never the whole
    table in memory); only ``columns`` if given, only row groups ``groups`` = (first, end or
    None for the last) if given. Used for input files and for the pipeline's own scratch files
    (dedup spill files, sorted runs).

    ``pre_buffer=False``: pyarrow's default pre-buffers every selected row group when the
    iteration starts, so each open file held all of itself. A merge opens up to 16 runs
    at once, and the final merge of an output shard reads runs as large as the shard; at 1M
    documents that was 340 MB per worker, the peak of the run, and it grew with the corpus."""
    import pyarrow.parquet as pq

    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as fh:
        pf = pq.ParquetFile(fh, pre_buffer=False)
        row_groups = None
        if groups is not None:
            first, end = groups
            row_groups = list(range(first, pf.num_row_groups if end is None else end))
        yield from pf.iter_batches(batch_size=batch_size, columns=columns, row_groups=row_groups)


def _read_parquet(r: FileRange, max_record_bytes: int) -> Iterator[RawRecord]:
    """The rows of a range of row groups; ``line`` is the row's index in the whole file."""
    row = r.first_line
    whole = r.start == 0 and r.end is None
    for batch in parquet_batches(r.file.path, groups=None if whole else (r.start, r.end)):
        for rec in batch.to_pylist():
            yield RawRecord(r.file.name, row, "parquet", rec)
            row += 1


def _split_parquet(f: InputFile, target: int) -> list[FileRange]:
    """Runs of whole row groups of about ``target`` bytes (uncompressed, as the footer says;
    a row group is Parquet's unit of independent reading, so one larger than the target is a
    range of its own), each with the number of rows before it."""
    import pyarrow.parquet as pq

    if file_size(f.path) <= target:
        return [FileRange(f)]
    with FileSystems.open(f.path, compression_type=CompressionTypes.UNCOMPRESSED) as fh:
        meta = pq.ParquetFile(fh).metadata
    ranges: list[FileRange] = []
    start = rows_before = rows = size = 0
    for i in range(meta.num_row_groups):
        group = meta.row_group(i)
        rows += group.num_rows
        size += group.total_byte_size
        if size >= target and i + 1 < meta.num_row_groups:
            ranges.append(FileRange(f, start, i + 1, rows_before))
            start, rows_before, rows, size = i + 1, rows_before + rows, 0, 0
    ranges.append(FileRange(f, start, None, rows_before))
    return ranges


_SCAN_CHUNK = 8 << 20


def _split_jsonl(f: InputFile, target: int) -> list[FileRange]:
    """Ranges of about ``target`` bytes of an uncompressed JSONL file, each starting at a line
    start and knowing the lines before it, so line numbers (and the default ids
    ``<file>:<line>``) are the same as a whole-file read. Finding them is one pass over the
    file counting newlines (``bytes.count``; benchmarks/memory.py measures it), made only for
    files over the target. A compressed file is one range: a gzip/bzip2/zstd stream cannot be
    entered in the middle, so it is streamed whole with bounded buffers (``_chunks``)."""
    if CompressionTypes.detect_compression_type(f.path) != CompressionTypes.UNCOMPRESSED:
        return [FileRange(f)]
    size = file_size(f.path)
    if size <= target:
        return [FileRange(f)]
    ranges: list[FileRange] = []
    start = start_lines = 0
    pos = lines = 0  # bytes and newlines before the current chunk
    cut_at = target  # the next range starts at the first line start after this offset
    with FileSystems.open(f.path, compression_type=CompressionTypes.UNCOMPRESSED) as fh:
        while chunk := fh.read(_SCAN_CHUNK):
            counted = 0  # newlines of this chunk counted into ``lines`` so far (up to ``counted``)
            while pos + len(chunk) > cut_at:
                j = chunk.find(b"\n", max(cut_at - pos, counted))
                if j < 0:
                    break  # the cut falls in a line that goes on into the next chunk
                lines += chunk.count(b"\n", counted, j + 1)
                counted = j + 1
                if pos + counted >= size:
                    break
                ranges.append(FileRange(f, start, pos + counted, start_lines))
                start, start_lines = pos + counted, lines
                cut_at = start + target
            lines += chunk.count(b"\n", counted)
            pos += len(chunk)
    ranges.append(FileRange(f, start, None, start_lines))
    return ranges


def _read_jsonl_range(r: FileRange, max_record_bytes: int) -> Iterator[RawRecord | ErrorRecord]:
    return _read_jsonl(r.file, max_record_bytes, r.start, r.end, r.first_line)


def _split_warc(f: InputFile, target: int) -> list[FileRange]:
    """A ``.warc.gz``/``.wet.gz``/``.arc.gz`` cut at gzip member starts (``warc.split_ranges``:
    each member is one record, inflated on its own, so ranges are read independently); an
    uncompressed crawl file is one range. Error records use the byte offset as their line, so
    ``first_line`` stays 0."""
    from gristmill.pipelines.warc import split_ranges

    return [FileRange(f, start, end) for start, end in split_ranges(f.path, target)]


def _read_warc_range(r: FileRange, max_record_bytes: int) -> Iterator:
    from gristmill.pipelines.warc import read_warc

    return read_warc(r.file.name, r.file.path, max_record_bytes, r.start, r.end)


RANGE_FORMATS: dict[str, RangeFormat] = {
    "jsonl": RangeFormat(_split_jsonl, _read_jsonl_range),
    "parquet": RangeFormat(_split_parquet, _read_parquet),
    "warc": RangeFormat(_split_warc, _read_warc_range),
}
"""Formats read in ranges (``split_file``/``read_range``); a format not here is read whole,
one range per file. A new format plugs in with one entry: its ``RangeFormat`` pair."""


def _read_whole(f: InputFile, kind: str, max_record_bytes: int) -> Iterator[RawRecord | ErrorRecord]:
    """A text or HTML file is one record (even when empty: it still counts as input); over
    the limit it is read to the end only to count and hash it."""
    rec = _PendingRecord(max_record_bytes)
    for chunk in _skip_bom(_chunks(f.path)):
        rec.add(chunk)
    out = rec.take(f.name, None, kind)
    assert out is not None  # only blank JSONL lines give None
    yield out


class _HTMLText(html.parser.HTMLParser):
    """Visible text of an HTML page: scripts, styles and templates dropped, block elements
    turned into line breaks. Good enough for corpus filtering; use a dedicated extractor
    (trafilatura, resiliparse) upstream for boilerplate removal."""

    _SKIP = {"script", "style", "noscript", "template", "head", "svg"}
    _BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section",
              "article", "blockquote", "pre", "table", "ul", "ol", "header", "footer", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self.title: str | None = None
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        if tag == "title":
            self._in_title = True
        if tag in self._SKIP:
            self._skip += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        if tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if self._in_title and self.title is None:
            self.title = data.strip()
        if not self._skip:
            self.parts.append(data)


_SPACES = re.compile(r"[^\S\n]+")
_BLANKS = re.compile(r"\n\s*\n+")


def html_to_text(markup: str) -> str:
    p = _HTMLText()
    p.feed(markup)
    p.close()
    text = _SPACES.sub(" ", "".join(p.parts))
    text = "\n".join(ln.strip() for ln in text.split("\n"))
    return _BLANKS.sub("\n\n", text).strip()
