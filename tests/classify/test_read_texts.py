"""``data.read_texts``: the texts of a file without its labels (``classifier eval --unlabeled``)."""

from __future__ import annotations

import json

import pytest

from gristmill.classify.data import DataError, read_examples, read_texts


def test_read_texts_ignores_labels_in_jsonl_and_fasttext_files(demo_dir, tmp_path):
    sms = demo_dir / "corpus" / "sms_spam.jsonl"
    rows = [json.loads(line) for line in sms.read_text().splitlines()[:50]]
    unlabelled = tmp_path / "sms.jsonl"
    unlabelled.write_text("".join(json.dumps({"text": r["text"]}) + "\n" for r in rows))
    assert read_texts([unlabelled]) == [r["text"] for r in rows]
    labelled = tmp_path / "sms_labelled.jsonl"
    labelled.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert read_texts([labelled]) == [e.text for e in read_examples([labelled])]
    ft = tmp_path / "sms.txt"  # fastText format: the labels go, the words stay
    ft.write_text("".join(f"__label__{r['label']} {' '.join(r['text'].split())}\n" for r in rows) + "\n")
    assert read_texts([ft]) == [" ".join(r["text"].split()) for r in rows]


def test_read_texts_errors_name_the_file_and_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n{"body": "no text field"}\n')
    with pytest.raises(DataError, match=r"bad.jsonl:2: no string field 'text'"):
        read_texts([bad])
    with pytest.raises(DataError, match="not found"):
        read_texts([tmp_path / "missing.jsonl"])
