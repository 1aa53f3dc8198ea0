"""The shared preprocessing: one line, lowercase, words and punctuation apart."""

from __future__ import annotations

from demo_util import read_jsonl
from gristmill.classify.preprocess import preprocess, reference_preprocess, single_line, window


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


def test_fast_path_equals_the_regex_rule_on_the_whole_demo_corpus(demo_dir):
    """``preprocess`` takes a C-speed path for ASCII text; it must give exactly the tokens of
    the regex rule (so models trained before it stay valid), on every real demo document."""
    texts = [r["text"] for name in ("fortunes", "sms_spam", "literature")
             for r in read_jsonl(demo_dir / "corpus" / f"{name}.jsonl")]
    assert len(texts) > 23_000
    assert sum(not t.isascii() for t in texts) > 20  # the regex path is exercised too
    assert [preprocess(t) for t in texts] == [reference_preprocess(t) for t in texts]


def test_fast_path_every_ascii_character_in_every_position():
    chars = [chr(i) for i in range(128)]
    # each character alone, between words, after and before apostrophes, doubled
    text = "".join(chars) + " " + " ".join(f"a{c}b{c} {c}'x'{c}y''{c}'{c}z{c}{c}" for c in chars)
    text += " 'tis o'er rock'n'roll' ''d e'f'g' _under_score_ x_'_y"
    assert preprocess(text) == reference_preprocess(text)
    assert preprocess("'tis o'er, 'quoted' rock'n'roll'") == "' tis o'er , ' quoted ' rock'n'roll '"
    assert preprocess("Café’s ‘naïve’ ﬁsh: ｄｏｎ’ｔ") == "café’s ‘ naïve ’ fish : don’t"  # regex path


def test_window_cuts_real_scenes_at_a_word_boundary(demo_dir):
    lit = [r["text"] for r in read_jsonl(demo_dir / "corpus" / "literature.jsonl", limit=300)]
    long = [t for t in lit if len(t) > 2000]
    assert len(long) > 100
    for t in long:
        w = window(t, 2000)
        assert t.startswith(w) and 1500 < len(w) <= 2000
        assert t[len(w)].isspace() or w[-1].isspace()  # no word split in two
        assert preprocess(w).split() == preprocess(t).split()[: len(preprocess(w).split())]
    short = "a short text"
    assert window(short, 2000) is short and window(short, None) is short
    assert window("x" * 50, 10) == "x" * 10  # no whitespace: a hard cut
