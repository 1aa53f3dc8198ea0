"""``gristmill classifier train`` errors quote the data (a record's field names); a field name
carrying a terminal escape sequence is printed escaped."""

from __future__ import annotations

import json
import re

from gristmill.cli import main

P = "\x1b[2J\x1b]52;c;aGVsbG8=\x07\x9b31m\u202e"
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def test_data_errors_are_printed_escaped(tmp_path, capsys):
    data = tmp_path / "data.jsonl"
    data.write_text(json.dumps({"text": "a real sentence here", f"label{P}": "spam"}) + "\n")
    rc = main(["classifier", "train", "--data", str(data), "--out", str(tmp_path / "m.bin")])
    err = capsys.readouterr().err
    assert rc == 2 and not RAW.findall(err)
    assert "no field 'label'" in err and "label\\x1b[2J\\x1b]52;c;" in err
