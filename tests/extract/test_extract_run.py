"""``gristmill run`` on a directory of real HTML pages with an ``extract`` section: main text
kept, empty page rejected at the extract stage, the run balances; config mistakes are one line."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from gristmill.cli import main
from gristmill.data.web_pages import pages
from gristmill.schemas import entries_to_dict


@pytest.fixture(scope="module")
def html_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("html")
    for p in pages(["mako"]):
        (d / p.url.rsplit("/", 1)[1]).write_bytes(p.html_bytes)
    (d / "empty.html").write_text("<html><head><title>Nothing here</title></head><body><nav></nav></body></html>")
    return d


def test_run_extracts_main_text_and_balances(html_dir, tmp_path):
    cfg = tmp_path / "web.yaml"
    cfg.write_text("extract: {extractor: trafilatura, tables: false}\nnormalize: {}\n")
    out = tmp_path / "run"
    assert main(["-q", "run", "--input", str(html_dir), "--output", str(out), "--config", str(cfg)]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["balanced"] and s["input_records"] == 12 and s["kept"] == 11 and s["rejected"] == 1
    assert s["by_filter"] == {"extract": {"extract.empty": 1}} and s["by_stage"] == {"extract": 1}
    assert [x["stage"] for x in s["funnel"]] == ["input", "parse", "extract"]
    assert s["versions"]["extract"]["extractor"] == "trafilatura"
    assert s["versions"]["extract"]["options"]["tables"] is False
    assert s["config"]["extract"] == {"extractor": "trafilatura", "tables": False}
    kept = pq.read_table(out / "kept").to_pylist()
    for row in kept:
        meta = entries_to_dict(row["metadata"])
        assert row["text"] and "Quick Search" not in row["text"] and "DOCTYPE" not in row["text"]
        assert int(meta["extracted_chars"]) < int(meta["html_chars"]) and meta["format"] == "html"
    (rej,) = pq.read_table(out / "rejected").to_pylist()
    assert rej["id"].endswith("empty.html") and rej["reason"] == "extract.empty" and rej["stage"] == "extract"
    assert "<title>Nothing here</title>" in rej["text"]  # the page is kept whole, as read


def test_without_the_section_html_is_visible_text_as_before(html_dir, tmp_path):
    out = tmp_path / "run"
    cfg = tmp_path / "plain.yaml"
    cfg.write_text("normalize: {}\n")
    assert main(["-q", "run", "--input", str(html_dir), "--output", str(out), "--config", str(cfg)]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["balanced"] and s["by_filter"] == {"normalize": {"normalize.empty_text": 1}}
    assert "extract" not in s["versions"]
    kept = {r["id"].rsplit("/", 1)[-1]: r for r in pq.read_table(out / "kept").to_pylist()}
    assert "Quick Search" in kept["defs.html"]["text"]  # all visible text, navigation included
    assert set(entries_to_dict(kept["defs.html"]["metadata"])) == {"format"}


@pytest.mark.parametrize("section, message", [
    ("{extractor: resiliparse, tables: true}", "'tables' is not an option of extractor resiliparse"),
    ("{extractor: goose}", "extract.extractor: Input should be 'trafilatura', 'resiliparse' or 'visible'"),
    ("{extractor: trafilatura, links: sometimes}", "option 'links' must be true or false"),
    ("{extractor: trafilatura, precision: true, recall: true}", "precision and recall cannot both be on"),
])
def test_config_mistakes_are_one_line_errors(html_dir, tmp_path, capsys, section, message):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(f"extract: {section}\n")
    out = tmp_path / "run"
    assert main(["run", "--input", str(html_dir), "--output", str(out), "--config", str(cfg)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gristmill: error: ") and message in err[0]
    assert not out.exists()
