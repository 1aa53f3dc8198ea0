"""The demo corpus: real text from pinned packages, labelled, deterministic."""

from __future__ import annotations

import json
from collections import Counter

from gristmill.cli import main
from gristmill.data.fetch import PACKAGES, cache_dir, fetch, sha256_file


def _rows(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_sources_labels_and_counts(demo_dir):
    c = demo_dir / "corpus"
    fortunes, sms, lit = _rows(c / "fortunes.jsonl"), _rows(c / "sms_spam.jsonl"), _rows(c / "literature.jsonl")
    labels = Counter(r["label"] for r in fortunes)
    assert labels["offensive"] > 2000 and labels["clean"] > 10000
    assert Counter(r["label"] for r in sms) == {"ham": 4220, "spam": 642}
    assert {r["source"] for r in lit} == {"shakespeare_modern", "shakespeare_folio", "milton"}
    assert all(r["text"].strip() for r in fortunes + sms + lit)
    ids = [r["id"] for r in fortunes + sms + lit]
    assert len(ids) == len(set(ids))
    # the *-o files are ROT13 on disk: decoded text reads as English
    off = " ".join(r["text"] for r in fortunes if r["label"] == "offensive")[:20000].lower().split()
    assert off.count("the") > 200
    # Shakespeare is cut at scene headings
    assert any(r["text"].lstrip().upper().startswith("SCENE") for r in lit if r["source"] == "shakespeare_modern")


def test_resources_and_datasheet(demo_dir):
    res = demo_dir / "resources"
    assert json.loads((res / "encoder.json").read_text())["<|endoftext|>"] == 50256
    assert (res / "vocab.bpe").read_text().startswith("#version")
    assert (res / "lid.176.ftz").stat().st_size > 900_000
    sheet = (demo_dir / "DATASHEET.md").read_text()
    assert "CC BY 4.0" in sheet and "offensive" in sheet


def test_packages_are_sha256_pinned():
    for key, pkg in PACKAGES.items():
        path = fetch(key)  # the demo's are cached already; datatrove's (url lists) on first use
        assert path == cache_dir() / pkg.filename, key
        assert sha256_file(path) == pkg.sha256


def test_rebuild_is_byte_identical(demo_dir, tmp_path, capsys):
    assert main(["data", "demo", str(tmp_path / "again")]) == 0
    assert "total: 23843 documents" in capsys.readouterr().out
    for fn in ("corpus/fortunes.jsonl", "corpus/sms_spam.jsonl", "corpus/literature.jsonl", "web/crawl.warc.gz"):
        assert (tmp_path / "again" / fn).read_bytes() == (demo_dir / fn).read_bytes()

