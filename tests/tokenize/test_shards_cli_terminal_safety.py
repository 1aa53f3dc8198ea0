"""``gristmill shards info`` and ``shards verify`` print manifest strings escaped: a manifest is
a file anyone could have written, and its names must not drive the terminal."""

from __future__ import annotations

import json
import re

from gristmill.cli import main

P = "\x1b[2J\x1b]52;c;aGVsbG8=\x07\x9b31m\u202e"
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _manifest(d, name: str, file: str) -> None:
    split = {"documents": 1, "tokens": 3}
    (d / "manifest.json").write_text(json.dumps({
        "schema_version": "1", "dtype": "uint16",
        "tokenizer": {"name": name, "vocab_size": 300, "eos_id": 256},
        "shards": [{"file": file, "split": "train", "tokens": 3, "documents": 1,
                    "sha256": "0" * 64}],
        "totals": {"train": split, "validation": {"documents": 0, "tokens": 0},
                   "documents": 1, "tokens": 3},
    }))


def test_shards_info_escapes_the_tokenizer_name(tmp_path, capsys):
    _manifest(tmp_path, f"bpe{P}", "train-00000.arrow")
    assert main(["shards", "info", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert not RAW.findall(out)
    assert "tokenizer bpe\\x1b[2J\\x1b]52;c;aGVsbG8=\\x07\\x9b31m\\u202e (vocab 300" in out
    assert main(["shards", "info", str(tmp_path), "--json"]) == 0  # JSON escapes on its own
    assert not RAW.findall(capsys.readouterr().out)


def test_shards_verify_escapes_file_names_in_its_problems(tmp_path, capsys):
    _manifest(tmp_path, "bpe", f"train-{P}.arrow")
    assert main(["shards", "verify", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert not RAW.findall(err)
    assert "FAIL" in err and "train-\\x1b[2J" in err and "missing" in err
