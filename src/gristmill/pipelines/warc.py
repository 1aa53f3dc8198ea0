"""Crawl formats in: WARC, WET and ARC files -> RawRecord, SkippedRecord or ErrorRecord.

Two layers. The *framing* here is plain Python: it finds where each record starts and ends
(gzip members; for uncompressed files the ``Content-Length`` of each record, checked against
the ``\\r\\n\\r\\n`` that must follow it) and, when the bytes are wrong, says so in one
ErrorRecord and resynchronises on the next gzip member or ``WARC/1.x`` line, so one bad
record never costs the rest of the file. Neither library does that: fastwarc and warcio both
stop at the first truncated member, lying ``Content-Length`` or garbage
(``benchmarks/warc_readers.py``). The *parsing* of one framed record (headers, HTTP
status, content type and charset, chunked and gzip/brotli payload encodings) is FastWARC's,
the faster of the two; ARC records, which FastWARC does not read, are parsed by warcio.

What comes out, per record:

- an HTTP ``response`` with an HTML content type and a 2xx status, or a WET ``conversion``:
  a ``RawRecord(fmt="warc", payload=WarcPayload)``; ``to_document`` decodes it (HTTP charset,
  then ``<meta charset>``, then detection; undecodable bytes replaced and counted).
- any other record: a ``SkippedRecord(file, kind)``, counted per kind in ``summary.json``
  (``skipped_records``): ``request``, ``revisit``, ``metadata``, ``warcinfo``, ``resource``,
  ``response:<mime type>`` (non-HTML), ``response:http-<N>xx`` (HTML but not 2xx),
  ``arc:filedesc``. Not documents and not errors.
- bytes that are not a readable record: an ``ErrorRecord`` whose ``line`` is the byte offset
  where the bad bytes start (the gzip member's offset in a compressed file).

``RawRecord.line`` is the record's byte offset too: in a ``.gz`` file the offset of its gzip
member, which is what ``split_ranges`` cuts at and what ``zcat``-free tools seek to.
"""

from __future__ import annotations

import codecs
import io
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from gristmill.pipelines.readers import RawRecord
from gristmill.schemas import Document, ErrorRecord

HTML_TYPES = ("text/html", "application/xhtml+xml")
GZIP_MAGIC = b"\x1f\x8b\x08"
CHUNK = 1 << 16
INFLATE_CHUNK = 1 << 14  # about a crawl record's gzip member: less unused input copied per member
MAX_HEADER = 1 << 16  # a WARC header block longer than this is not a header
RAW_BYTES = 4096  # what an ErrorRecord keeps of the bad bytes (readers.RAW_PREFIX_BYTES)


@dataclass(frozen=True)
class SkippedRecord:
    """A record that is not a document (a request, a revisit, an image...): counted, not kept."""

    file: str
    kind: str


@dataclass
class WarcPayload:
    """What ``RawRecord.payload`` holds for a crawl record: the body bytes and the headers a
    Document needs. ``kind`` is ``html`` (an HTTP response) or ``wet`` (a text conversion)."""

    kind: str
    record_id: str
    url: str | None
    date: str
    content_type: str
    http_charset: str | None
    body: bytes
    truncated: str | None = None
    offset: int = 0  # where the record starts: its byte offset, or its gzip member's in a .gz


def _is_gzip(path: str) -> bool:
    return path.lower().endswith(".gz")


def _is_arc(path: str) -> bool:
    return path.lower().endswith((".arc", ".arc.gz"))


# ---------------------------------------------------------------------------------------------
# A byte window over a file: random access near the read position, bounded memory.


class _Window:
    """The bytes of a stream from ``base`` on, read on demand; ``drop(pos)`` forgets what lies
    before ``pos``, so scanning a large file holds about one chunk."""

    def __init__(self, fh, base: int = 0) -> None:
        self.fh = fh
        self.base = base
        self.buf = bytearray()
        self.eof = False

    def _fill(self, upto: int) -> None:
        while not self.eof and self.base + len(self.buf) < upto:
            chunk = self.fh.read(max(CHUNK, upto - self.base - len(self.buf)))
            if not chunk:
                self.eof = True
            self.buf += chunk

    def at(self, pos: int, n: int) -> bytes:
        """Up to ``n`` bytes from absolute offset ``pos`` (fewer at the end of the stream)."""
        assert pos >= self.base, "read before the window (a find() dropped it)"
        self._fill(pos + n)
        return bytes(self.buf[pos - self.base: pos - self.base + n])

    def done(self, pos: int) -> bool:
        self._fill(pos + 1)
        return pos >= self.base + len(self.buf)

    def find(self, sub: bytes, pos: int, limit: int | None = None) -> int:
        """Absolute offset of the first ``sub`` at or after ``pos`` (before ``pos + limit``), or
        -1. Without a limit the scan forgets the bytes it passes: read what you need first."""
        while True:
            self._fill(pos + (limit or CHUNK))
            i = self.buf.find(sub, pos - self.base)
            if i >= 0:
                found = self.base + i
                return found if limit is None or found + len(sub) <= pos + limit else -1
            if self.eof or limit is not None:
                return -1
            keep = max(pos, self.base + len(self.buf) - len(sub) + 1)
            self.drop(keep)
            pos = keep

    def drop(self, pos: int) -> None:
        if pos > self.base:
            del self.buf[: pos - self.base]
            self.base = pos

    def end(self, pos: int) -> int:
        """The offset of the end of the stream (reads to it, holding one chunk at a time)."""
        while not self.done(pos):
            pos = self.base + len(self.buf)
            self.drop(pos)
        return pos

    def skip(self, pos: int, find_next: Callable[[int], int | None],
             search_from: int | None = None) -> tuple[bytes, int | None, int]:
        """Skip bad bytes from ``pos`` to the next good start ``find_next(search_from or pos)``
        (None: to the end of the stream): (the first ``RAW_BYTES`` of them, for the
        ErrorRecord; that next start; where the bad bytes stop)."""
        raw = self.at(pos, RAW_BYTES)
        nxt = find_next(pos if search_from is None else search_from)
        stop = nxt if nxt is not None else self.end(pos)
        return raw[: stop - pos], nxt, stop


def _open(path: str):
    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


# ---------------------------------------------------------------------------------------------
# Gzip members: each is decompressed on its own, so a bad one costs only itself.


@dataclass
class _Member:
    """One gzip member (or, in an uncompressed file, the whole stream): where it starts, its
    decompressed bytes, where the next one starts, and what was wrong with it, if anything."""

    offset: int
    data: bytes
    next_offset: int
    error: str | None = None
    error_type: str | None = None


def _inflate(win: _Window, pos: int, cap: int) -> tuple[bytes, int, str | None, str | None]:
    """Decompress the member at ``pos``: (data, end offset, error type, message). Output past
    ``cap`` bytes is counted, not kept (a ``record_too_large`` member)."""
    d = zlib.decompressobj(wbits=31)
    out: list[bytes] = []
    size = 0
    p = pos
    try:
        while not d.eof:
            chunk = win.at(p, INFLATE_CHUNK)
            if not chunk:
                return b"".join(out), p, "truncated_gzip_member", (
                    f"gzip member at offset {pos} ends before its end marker (file truncated?)")
            piece = d.decompress(chunk)
            size += len(piece)
            if size <= cap:
                out.append(piece)
            p += len(chunk) - len(d.unused_data)
    except zlib.error as e:
        return b"".join(out), p, "truncated_gzip_member", (
            f"gzip member at offset {pos} is truncated or corrupt (zlib: {e})")
    if size > cap:
        return b"".join(out)[:RAW_BYTES], p, "record_too_large", (
            f"gzip member at offset {pos} holds {size} bytes, over input.max_record_bytes={cap}"
            " (a .warc.gz must have one gzip member per record: `warcio recompress` rewrites it)")
    return b"".join(out), p, None, None


def _looks_like_member(win: _Window, pos: int, arc: bool) -> bool:
    """Whether a gzip member that starts a record begins at ``pos`` (a resynchronisation
    candidate): it inflates, and to ``WARC/`` (or, in ARC, a header line) at that."""
    if win.at(pos, 3) != GZIP_MAGIC:
        return False
    d = zlib.decompressobj(wbits=31)
    try:
        head = d.decompress(win.at(pos, 4096), 64)
    except zlib.error:
        return False
    if arc:
        return len(head.split(b"\n", 1)[0].split(b" ")) >= 5 or (len(head) == 64 and b"\n" not in head)
    return head.startswith(b"WARC/")


def _next_member(win: _Window, pos: int, arc: bool) -> int | None:
    """Offset of the first plausible gzip member after ``pos``, or None at the end of the file."""
    while True:
        i = win.find(GZIP_MAGIC, pos + 1)
        if i < 0:
            return None
        if _looks_like_member(win, i, arc):
            return i
        pos = i


def _resumed(nxt: int | None) -> str:
    return "; reading resumed at " + (f"offset {nxt}" if nxt is not None else "the end of the file")


def _members(win: _Window, start: int, end: int | None, cap: int, arc: bool) -> Iterator[_Member]:
    """The gzip members starting in ``[start, end)``; a member that does not inflate, or bytes
    that are not a member, come out with an error and reading goes on at the next member."""
    pos = start
    def find_next(p: int) -> int | None:
        return _next_member(win, p, arc)

    while (end is None or pos < end) and not win.done(pos):
        if win.at(pos, 3) != GZIP_MAGIC:
            raw, nxt, stop = win.skip(pos, find_next)
            yield _Member(pos, raw, stop, error_type="garbage_between_records",
                          error=f"{stop - pos} bytes at offset {pos} are not a gzip member" + _resumed(nxt))
        else:
            data, stop, etype, msg = _inflate(win, pos, cap)
            if etype == "truncated_gzip_member":
                data, nxt, stop = win.skip(pos, find_next)
                msg = f"{msg}{_resumed(nxt)}"
            yield _Member(pos, data, stop, error=msg, error_type=etype)
        win.drop(stop)
        pos = stop


# ---------------------------------------------------------------------------------------------
# Framing WARC records in a byte stream by their Content-Length.

_CONTENT_LENGTH = re.compile(rb"(?im)^content-length:[ \t]*(\d+)[ \t]*\r?$")
_VERSION = re.compile(rb"WARC/1\.[01]\r\n")


@dataclass
class _Frame:
    """One record's bytes (header and block) at ``offset``, or the error that replaced it."""

    offset: int
    data: bytes
    error_type: str | None = None
    error: str | None = None


def _next_warc(win: _Window, pos: int) -> int | None:
    """Offset of the next ``WARC/1.x`` version line after ``pos``, or None."""
    while True:
        i = win.find(b"\nWARC/1.", pos)
        if i < 0:
            return None
        if _VERSION.match(win.at(i + 1, 10)):
            return i + 1
        pos = i + 1


def _warc_frames(win: _Window, start: int, limit: int, in_member: bool = False) -> Iterator[_Frame]:
    """Every record in the stream from ``start``: its bytes when its ``Content-Length`` is
    followed by the ``\\r\\n\\r\\n`` the format puts after each record, else an error covering
    the bytes up to the next ``WARC/1.x`` line, where reading goes on. ``in_member``: the
    stream is one gzip member's bytes, whose offsets mean nothing in the file."""
    pos = start
    def find_next(p: int) -> int | None:
        return _next_warc(win, p)

    while True:
        while win.at(pos, 1) in (b"\r", b"\n"):
            pos += 1
        if win.done(pos):
            return
        hend = win.find(b"\r\n\r\n", pos, MAX_HEADER)
        m = _CONTENT_LENGTH.search(win.at(pos, hend - pos)) if hend >= 0 else None
        if not _VERSION.match(win.at(pos, 10)) or m is None:
            raw, nxt, stop = win.skip(pos, find_next)
            if not _VERSION.match(raw[:10]):
                etype, what = "garbage_between_records", "are not a WARC record"
            else:
                etype, what = "malformed_record", ("are a WARC header with no Content-Length" if hend >= 0
                                                   else "start a WARC header with no end")
            yield _Frame(pos, raw, etype, f"{stop - pos} bytes at offset {pos} {what}{_resumed(nxt)}")
            pos = stop
            continue
        length = int(m.group(1))
        stop = hend + 4 + length
        if win.at(stop, 4) != b"\r\n\r\n":
            raw, nxt, stop = win.skip(pos, find_next, search_from=hend)
            yield _Frame(pos, raw, "content_length_mismatch", _mismatch(pos, hend + 4, length, nxt, stop, in_member))
            pos = stop
            continue
        if length <= limit:
            yield _Frame(pos, win.at(pos, stop - pos))
        else:
            yield _Frame(pos, win.at(pos, min(stop - pos, RAW_BYTES)), "record_too_large",
                         f"record at offset {pos} has a {length}-byte block, over input.max_record_bytes={limit}")
        win.drop(stop + 4)
        pos = stop + 4


def _mismatch(pos: int, body: int, length: int, nxt: int | None, stop: int, in_member: bool) -> str:
    """Why a record's ``Content-Length`` is not followed by the end of record, in words."""
    actual = stop - body - (4 if nxt is not None else 0)
    where = f"{'' if in_member else f'the WARC record at offset {pos}: '}Content-Length {length}"
    if nxt is not None and nxt < body + length:
        return (f"{where} runs past the next record, which starts {nxt - body} bytes into the block"
                f" (Content-Length too long){_resumed(nxt)}")
    if nxt is None and actual < length:
        end = "the gzip member" if in_member else "the file"
        return (f"{where}, but {end} ends {max(actual, 0)} bytes into the block"
                f" (Content-Length too long{'' if in_member else ', or the file truncated'})")
    return (f"{where} is not followed by the end of record; the block runs to about {actual} bytes"
            f" (Content-Length too short, or garbage after the record)" + ("" if in_member else _resumed(nxt)))


# ---------------------------------------------------------------------------------------------
# One framed record -> RawRecord | SkippedRecord | ErrorRecord.

def _bare_id(record_id: str) -> str:
    """``<urn:uuid:X>`` -> ``X``; other URIs lose only their angle brackets."""
    rid = record_id.strip().strip("<>")
    return rid[len("urn:uuid:"):] if rid.lower().startswith("urn:uuid:") else rid


def _response_kind(ctype: str, status: int | None) -> str | None:
    """None for an HTML 2xx response (a document), else its ``skipped_records`` key."""
    if ctype not in HTML_TYPES:
        return f"response:{ctype or 'unknown'}"
    if status is None or not 200 <= status < 300:
        return f"response:http-{status // 100 if status else 0}xx"
    return None


def _parse_warc(file: str, offset: int, data: bytes):
    """A framed WARC record's bytes -> RawRecord (HTML response, WET conversion) or SkippedRecord."""
    from fastwarc.warc import WarcRecord

    rec = WarcRecord.from_bytes(data)
    h = {k.lower(): v for k, v in rec.headers.items()}  # one pass: HeaderMap.get costs ~10 us a call
    rtype = (h.get("warc-type") or "unknown").lower()
    url = (h.get("warc-target-uri") or "").strip().strip("<>") or None
    rid = _bare_id(h.get("warc-record-id") or "") or f"{file}:{offset}"
    if rtype == "conversion":
        ctype = (h.get("content-type") or "text/plain").split(";")[0].strip().lower()
        return RawRecord(file, offset, "warc", WarcPayload("wet", rid, url, h.get("warc-date") or "", ctype,
                                                           "utf-8", rec.reader.read(), h.get("warc-truncated"), offset))
    if rtype != "response":
        return SkippedRecord(file, rtype)
    if not rec.is_http:
        return SkippedRecord(file, "response:not-http")
    rec.parse_http(auto_decode="all")
    ctype = (rec.http_content_type or "").lower()
    kind = _response_kind(ctype, rec.http_headers.status_code)
    if kind is not None:
        return SkippedRecord(file, kind)
    return RawRecord(file, offset, "warc", WarcPayload("html", rid, url, h.get("warc-date") or "", ctype,
                                                       rec.http_charset, rec.reader.read(), h.get("warc-truncated"), offset))


def _parse_arc(file: str, offset: int, data: bytes) -> Iterator:
    """The records of an ARC member's bytes, parsed by warcio (FastWARC reads no ARC). ARC has
    no record ids: a document's id is ``<file>:<offset>``."""
    from warcio.archiveiterator import ArchiveIterator

    for rec in ArchiveIterator(io.BytesIO(data), arc2warc=True):
        if rec.rec_type == "warcinfo":
            yield SkippedRecord(file, "arc:filedesc")
            continue
        http = rec.http_headers
        ctype = (http.get_header("Content-Type") or "").split(";")[0].strip().lower() if http else ""
        status = int(http.get_statuscode()) if http and http.get_statuscode().isdigit() else None
        kind = _response_kind(ctype, status)
        if kind is not None:
            yield SkippedRecord(file, kind)
            continue
        charset = _header_charset(http.get_header("Content-Type") or "")
        yield RawRecord(file, offset, "warc", WarcPayload(
            "html", f"{file}:{offset}", rec.rec_headers.get_header("WARC-Target-URI"),
            rec.rec_headers.get_header("WARC-Date") or "", ctype, charset, rec.content_stream().read(), None, offset))


def _parsed(file: str, offset: int, data: bytes, where: str = "") -> Iterator:
    """One framed WARC record, or one gzip member's ARC records; a record the library cannot
    parse (bad HTTP headers, a broken chunked body) is one error, never a stopped file."""
    try:
        if data[:5] == b"WARC/":
            yield _parse_warc(file, offset, data)
        else:
            yield from _parse_arc(file, offset, data)
    except Exception as e:
        yield ErrorRecord(file, offset, "malformed_record",
                          f"{where or f'record at offset {offset}: '}{type(e).__name__}: {e}", data[:RAW_BYTES])


def _member_records(file: str, m: _Member, arc: bool, limit: int) -> Iterator:
    """The records in one good gzip member (normally one; several if the writer put them so)."""
    where = f"gzip member at offset {m.offset}: "
    if arc:
        yield from _parsed(file, m.offset, m.data, where)
        return
    for fr in _warc_frames(_Window(io.BytesIO(m.data)), 0, limit, in_member=True):
        if fr.error_type:
            yield ErrorRecord(file, m.offset, fr.error_type, where + fr.error, fr.data)
        else:
            yield from _parsed(file, m.offset, fr.data, where)


def read_warc(file: str, path: str, max_record_bytes: int, start: int = 0, end: int | None = None) -> Iterator:
    """Every record of a crawl file starting in the byte range ``[start, end)`` (``end`` None:
    to the end), as RawRecord, SkippedRecord or ErrorRecord. ``start`` must be a record start:
    0 or an offset from ``split_ranges``. ``file`` is the name used in ids and errors."""
    arc = _is_arc(path)
    with _open(path) as fh:
        if start:
            fh.seek(start)
        win = _Window(fh, start)
        if _is_gzip(path):
            for m in _members(win, start, end, max_record_bytes + MAX_HEADER, arc):
                if m.error_type:
                    yield ErrorRecord(file, m.offset, m.error_type, m.error, m.data[:RAW_BYTES])
                else:
                    yield from _member_records(file, m, arc, max_record_bytes)
        elif arc:  # uncompressed ARC: read whole by warcio, which stops at the first bad record
            yield from _parsed(file, 0, fh.read())
        else:
            for fr in _warc_frames(win, start, max_record_bytes):
                if fr.error_type:
                    yield ErrorRecord(file, fr.offset, fr.error_type, fr.error, fr.data)
                else:
                    yield from _parsed(file, fr.offset, fr.data)


def split_ranges(path: str, target_bytes: int) -> list[tuple[int, int | None]]:
    """Byte ranges of about ``target_bytes`` each, cut at gzip member starts, that together
    hold every record of the file once (``read_warc(..., start, end)`` per range).

    One first pass inflates the members to find where each ends (a gzip member does not
    record its compressed length); it walks the members exactly as ``read_warc`` does, bad
    ones included, so the cuts are member starts the reader agrees with. Uncompressed files
    and files under ``target_bytes`` are one range: their record boundaries are only known by
    reading every header in order.
    """
    if not _is_gzip(path):
        return [(0, None)]
    with _open(path) as fh:
        size = fh.seek(0, io.SEEK_END)
        if size <= target_bytes:
            return [(0, None)]
        fh.seek(0)
        cuts = [0]
        for m in _members(_Window(fh), 0, None, 0, _is_arc(path)):
            if m.next_offset - cuts[-1] >= target_bytes and m.next_offset < size:
                cuts.append(m.next_offset)
    return [(a, b) for a, b in zip(cuts, cuts[1:] + [None], strict=True)]


# ---------------------------------------------------------------------------------------------
# Bytes -> text: HTTP charset, then <meta charset>, then detection; bad bytes replaced, counted.

_META_CHARSET = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_BAD_BYTE = re.compile("[\udc80-\udcff]")


def _codec(name: str | bytes | None) -> str | None:
    """The Python codec for a declared charset name, or None if there is no such codec."""
    if not name:
        return None
    try:
        return codecs.lookup(name.decode("ascii") if isinstance(name, bytes) else name).name
    except (LookupError, UnicodeDecodeError):
        return None


def _header_charset(content_type: str) -> str | None:
    m = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", content_type, re.IGNORECASE)
    return _codec(m.group(1)) if m else None


def choose_charset(body: bytes, http_charset: str | None) -> tuple[str, str]:
    """(codec, where it came from): a byte-order mark, the HTTP header, the page's ``<meta>``
    (first 4 KiB), else ``utf-8`` if the bytes are valid UTF-8, else charset-normalizer's guess
    (else ``cp1252``, the web's de facto default for undeclared pages)."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name, "bom"
    if (cs := _codec(http_charset)) is not None:
        return cs, "http"
    m = _META_CHARSET.search(body[:4096])
    if m and (cs := _codec(m.group(1))) is not None:
        return cs, "meta"
    try:
        body.decode("utf-8")
        return "utf-8", "detected"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(body).best()
    return (_codec(best.encoding) or "cp1252") if best is not None else "cp1252", "detected"


def decode_body(body: bytes, codec: str) -> tuple[str, int]:
    """(text, number of undecodable bytes, each replaced with U+FFFD)."""
    text = body.decode(codec, "surrogateescape")
    if codec.startswith("utf-16"):  # BOM-led UTF-16: drop the mark the codec keeps
        text = text.lstrip("\ufeff")
    elif codec == "utf-8":
        text = text.removeprefix("\ufeff")
    return _BAD_BYTE.subn("\ufffd", text)


def to_document(file: str, p: WarcPayload) -> Document:
    """A crawl record as a Document: HTML markup (``format: html``) or WET text (``format: wet``).

    The id is the WARC-Record-ID without its ``<urn:uuid:`` ... ``>`` wrapping (ARC records,
    which have none, use ``<file>:<offset>``); ``url`` is WARC-Target-URI; ``metadata`` gets
    ``warc_date``, ``content_type``, ``charset``, ``charset_source``, ``warc_offset`` (the
    record's byte offset, its gzip member's in a ``.gz`` file: ``read_warc(..., start=offset)``
    reads it again, as the report does to show a page's markup) and, when there are any,
    ``undecodable_bytes`` and ``warc_truncated``.
    """
    if p.kind == "wet":
        codec, source = "utf-8", "wet"
    else:
        codec, source = choose_charset(p.body, p.http_charset)
    text, bad = decode_body(p.body, codec)
    meta = {"format": p.kind, "warc_date": p.date, "content_type": p.content_type,
            "charset": codec, "charset_source": source, "warc_offset": str(p.offset)}
    if bad:
        meta["undecodable_bytes"] = str(bad)
    if p.truncated:
        meta["warc_truncated"] = p.truncated
    return Document(id=p.record_id, text=text, source=file, url=p.url, metadata=meta)
