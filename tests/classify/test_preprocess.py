"""The shared preprocessing: one line, lowercase, words and punctuation apart."""

from __future__ import annotations

from demo_util import read_jsonl
from gristmill.classify.preprocess import preprocess, single_line


def test_preprocess_real_texts_are_single_lowercase_lines(demo_dir):
    rows = read_jsonl(demo_dir / "corpus" / "fortunes.jsonl", limit=300)
    multi = [r["text"] for r in rows if "\n" in r["text"]]
    assert multi  # the sample does exercise newlines
    for r in rows:
        out = preprocess(r["text"])
        assert "\n" not in out and "\t" not in out and "  " not in out
        assert out == out.lower()
        assert preprocess(out) == out  # stable: applying it twice changes nothing


def test_preprocess_tokenization():
    assert preprocess("Don't PANIC!\nCall 0800-123,   now.") == "don't panic ! call 0800 - 123 , now ."
    assert preprocess("ＦＵＬＬ width") == "full width"  # NFKC folds compatibility forms
    assert preprocess("  \n\t ") == ""


def test_single_line_keeps_case():
    assert single_line("Hello\n\nWorld \t!") == "Hello World !"
