"""Corpus readers: JSONL (plain, .gz, .zst, .bz2), Parquet, plain text and HTML files.

All file access goes through Beam's ``FileSystems`` so the same code reads ``gs://``,
``s3://`` or ``hdfs://`` on a cluster. A reader never raises for bad data: every input record
comes out either as a ``RawRecord`` (to be parsed) or as an ``ErrorRecord`` (unreadable
bytes, a truncated compressed file, an unsupported file type). That is what lets the run
guarantee ``input_records == kept + rejected + errors``.
"""

from __future__ import annotations

import bz2
import fnmatch
import html.parser
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from gristmill.schemas import ErrorRecord

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
COMPRESSED_SUFFIXES = (".gz", ".zst", ".zstd", ".bz2")
TEXT_SUFFIXES = (".txt", ".text", ".md")
HTML_SUFFIXES = (".html", ".htm")
PARQUET_SUFFIXES = (".parquet",)


@dataclass(frozen=True)
class InputFile:
    """A file to read: its full path and the short name used in ids and error records."""

    path: str
    name: str


@dataclass
class RawRecord:
    """One record as read, before parsing. ``payload`` is bytes (a JSONL line), a dict
    (a Parquet row) or str (a whole text/HTML file)."""

    file: str
    line: int | None
    fmt: str
    payload: Any


def detect_format(path: str, fmt: str = "auto") -> str | None:
    if fmt != "auto":
        return fmt
    p = path.lower()
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
    an empty run).
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
                    out.setdefault(full, InputFile(full, os.path.relpath(full, root)))
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
            out.setdefault(m.path, InputFile(m.path, base))
    return [out[k] for k in sorted(out)]


def read_file(f: InputFile, fmt: str = "auto", max_record_bytes: int = 16 << 20) -> Iterator[RawRecord | ErrorRecord]:
    """Yield every record of one file, or an ErrorRecord where the bytes cannot be read."""
    kind = detect_format(f.path, fmt)
    if kind is None:
        yield ErrorRecord(f.name, None, "unsupported_file_type",
                          f"cannot tell the format of {f.path!r}: use .jsonl[.gz|.zst], .parquet, .txt or .html, "
                          "or set input.format")
        return
    try:
        if kind == "jsonl":
            yield from _read_jsonl(f, max_record_bytes)
        elif kind == "parquet":
            yield from _read_parquet(f)
        else:
            yield from _read_whole(f, kind, max_record_bytes)
    except Exception as e:  # an unreadable file is one error record, never a crashed run
        yield ErrorRecord(f.name, None, "unreadable_file", f"{type(e).__name__}: {e}")


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


def _chunks(path: str, chunk_size: int = 1 << 20) -> Iterator[bytes]:
    """The decompressed bytes of a file, raising TruncatedInput on a cut-off stream.

    Beam's own ``CompressedFile`` reports a truncated .gz or .zst as a clean end of file,
    which would silently drop the rest of the file; we decompress with the codecs' own
    objects and check that the last member/frame really ended. Concatenated members
    (multi-member gzip, several zstd frames) are read in sequence.
    """
    kind = CompressionTypes.detect_compression_type(path)
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as fh:
        if kind == CompressionTypes.UNCOMPRESSED:
            while chunk := fh.read(chunk_size):
                yield chunk
            return
        name = {CompressionTypes.GZIP: "gzip", CompressionTypes.BZIP2: "bzip2", CompressionTypes.ZSTD: "zstd"}.get(kind)
        if name is None:
            raise ValueError(f"unsupported compression {kind} for {path}")
        d = _decompressor(name)
        started = False
        while chunk := fh.read(chunk_size):
            while chunk:
                started = True
                out = d.decompress(chunk)
                if out:
                    yield out
                if d.eof:
                    chunk = d.unused_data
                    d = _decompressor(name)
                    started = False
                else:
                    chunk = b""
        if started:
            raise TruncatedInput(f"{name} stream ends before its end marker (file truncated?)")


def _read_jsonl(f: InputFile, max_record_bytes: int) -> Iterator[RawRecord | ErrorRecord]:
    lineno = 0
    buf = b""
    try:
        for chunk in _chunks(f.path):
            buf += chunk
            if b"\n" not in chunk:
                continue
            *complete, buf = buf.split(b"\n")
            for line in complete:
                lineno += 1
                if line.strip():
                    yield _check_size(RawRecord(f.name, lineno, "jsonl", line), max_record_bytes)
    except (TruncatedInput, OSError, EOFError, zlib.error, ValueError) as e:
        yield ErrorRecord(
            f.name, lineno + 1, "truncated_or_corrupt_file",
            f"{type(e).__name__}: {e} (reading stopped at line {lineno + 1}; the {lineno} lines before it were read)",
            buf or None,
        )
        return
    if buf.strip():
        yield _check_size(RawRecord(f.name, lineno + 1, "jsonl", buf), max_record_bytes)


def _check_size(rec: RawRecord, max_record_bytes: int) -> RawRecord | ErrorRecord:
    n = len(rec.payload)
    if n > max_record_bytes:
        return ErrorRecord(rec.file, rec.line, "record_too_large",
                           f"record is {n} bytes, over input.max_record_bytes={max_record_bytes}", rec.payload)
    return rec


def parquet_batches(path: str, columns: list[str] | None = None, batch_size: int = 1024) -> Iterator[Any]:
    """Record batches of a Parquet file on any Beam filesystem, streamed (never the whole
    table in memory); only ``columns`` if given. Used for input files and for the pipeline's
    own scratch files (dedup spill files, sorted runs)."""
    import pyarrow.parquet as pq

    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as fh:
        yield from pq.ParquetFile(fh).iter_batches(batch_size=batch_size, columns=columns)


def _read_parquet(f: InputFile) -> Iterator[RawRecord]:
    row = 0
    for batch in parquet_batches(f.path):
        for rec in batch.to_pylist():
            yield RawRecord(f.name, row, "parquet", rec)
            row += 1


def _read_whole(f: InputFile, kind: str, max_record_bytes: int) -> Iterator[RawRecord | ErrorRecord]:
    data = b""
    for chunk in _chunks(f.path):
        data += chunk
        if len(data) > max_record_bytes:
            break
    yield _check_size(RawRecord(f.name, None, kind, data), max_record_bytes)


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
