"""``gristmill run`` with the url filter: real demo text under real listed and clean URLs."""

from __future__ import annotations

import json
from collections import Counter

import pyarrow.parquet as pq
from url_util import ut1_lines

from gristmill.cli import main
from gristmill.schemas import entries_to_dict


def test_run_balances_with_url_reason_codes(demo_dir, tmp_path, capsys):
    texts = [json.loads(x)["text"] for x in (demo_dir / "corpus" / "fortunes.jsonl").read_text().splitlines()[:60]]
    listed = ut1_lines("domains", 12)
    page = next(u for u in ut1_lines("urls", 200) if u.count("/") == 1 and not u.endswith("/"))
    urls = (
        [f"https://www.{d}/page-{i}.html" for i, d in enumerate(listed)]          # 12 url.adult (domains)
        + [f"http://{page}", f"https://www.{page}?ref=1"]                        # 2 url.adult (URL list)
        + [f"https://shop{i}.example.com/path" for i in range(5)]                # 5 url.mine (user file)
        + [f"https://news.example.org/casino-{i}" for i in range(4)]             # 4 url.banned_word
        + [None] * 5                                                              # 5 kept: no url
        + ["http://[::1", "://", "http://", "ex ample.com"]                      # 4 kept: no host
        + [f"https://docs.python.org/3/{i}" for i in range(24)]                  # 24 kept
        + [f"https://www.not{listed[0]}/", f"https://www.{listed[1]}.example.net/", "https://sussex.ac.uk/",
           "https://news.example.org/casinos"]                                   # 4 kept: near misses
    )
    assert len(urls) == len(texts)
    inp = tmp_path / "web.jsonl"
    with open(inp, "w", encoding="utf-8") as f:
        for i, (t, u) in enumerate(zip(texts, urls, strict=True)):
            f.write(json.dumps({"id": f"doc{i:03d}", "text": t, **({"url": u} if u else {})}) + "\n")
    mine = tmp_path / "mine.txt"
    mine.write_text("# my own blocklist\nshop0.example.com\nexample.com\n")
    cfg = tmp_path / "web.yaml"
    cfg.write_text("filters:\n  - name: url\n"
                   f"    params: {{domains_files: [{mine}], banned_words: [casino]}}\n")
    out = tmp_path / "run"
    assert main(["run", "--input", str(inp), "--output", str(out), "--config", str(cfg)]) == 0
    assert "url.adult" in capsys.readouterr().out
    s = json.loads((out / "summary.json").read_text())
    assert s["balanced"] and (s["input_records"], s["kept"], s["rejected"], s["errors"]) == (60, 37, 23, 0)
    assert s["by_filter"]["url"] == {"url.adult": 14, "url.mine": 5, "url.banned_word": 4}
    rej = pq.read_table(out / "rejected").to_pylist()
    assert {(r["value"], r["threshold"]) for r in rej} == {(1.0, 1.0)}
    assert Counter(r["reason"] for r in rej) == {"url.adult": 14, "url.mine": 5, "url.banned_word": 4}
    assert {entries_to_dict(r["metadata"])["url.match"] for r in rej if r["reason"] == "url.mine"} == {
        "shop0.example.com", "example.com"}
    kept = pq.read_table(out / "kept").to_pylist()
    status = Counter(entries_to_dict(r["metadata"]).get("url.status") for r in kept)
    assert status == {None: 28, "missing": 5, "no_host": 4}
    assert all(entries_to_dict(r["scores"]) == ({"url.blocked": 0.0} if r["url"] else {}) for r in kept)
    # a list file that is not there: one line, exit 2, nothing written
    cfg.write_text(f"filters:\n  - name: url\n    params: {{domains_files: [{tmp_path / 'gone.txt'}]}}\n")
    assert main(["run", "--input", str(inp), "--output", str(tmp_path / "run2"), "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "gone.txt" in err and "not found" in err and "Traceback" not in err
    assert not (tmp_path / "run2").exists()
