"""``decontaminate``: documents sharing an n-gram with an eval set are rejected (or marked),
with the benchmark file and the overlapping span; short eval texts match whole; every eval
file format; a missing file is a one-line user error; a real run balances."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gristmill.errors import UserError
from gristmill.filters import create
from gristmill.filters.chain import ChainStep, FilterChain
from gristmill.filters.decontaminate_index import words
from gristmill.filters.decontaminate_io import stem_of
from gristmill.schemas import Document


@pytest.fixture(scope="module")
def lit(demo_dir) -> list[str]:
    """Real literature documents (Shakespeare, Milton; ~4,000 characters each)."""
    from demo_util import read_jsonl

    return [r["text"] for r in read_jsonl(demo_dir / "corpus" / "literature.jsonl", 40)]


def _passage(text: str, first: int, n: int) -> str:
    """``n`` words of ``text`` from word ``first`` on, as written (punctuation, line breaks)."""
    import re

    spans = [m.span() for m in re.finditer(r"[^\W_]+", text)]
    return text[spans[first][0]:spans[first + n - 1][1]]


def _jsonl(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def test_hit_and_miss_with_span(lit, tmp_path):
    # an MMLU-like question quoting 20 words of a real scene, reformatted: upper case, no line breaks
    quote = " ".join(_passage(lit[3], 50, 20).split()).upper()
    ev = _jsonl(tmp_path / "mmlu.jsonl", [{"question": f"Who says: {quote}?", "choices": ["Comus", "Lycidas"],
                                           "answer": 0}])
    f = create("decontaminate", eval_files=[ev])
    assert f.reasons == ("mmlu",) and f.all_reason_codes() == ["decontaminate.mmlu"]
    v = f(Document("d", lit[3]))
    assert not v.keep and v.reason == "decontaminate.mmlu"
    a, b = map(int, v.info["decontaminate.span_chars"].split(":"))
    assert v.info["decontaminate.span"] == lit[3][a:b] == _passage(lit[3], 50, 20)
    assert v.info["decontaminate.benchmark"] == ev
    assert v.value == v.scores["decontaminate.matches"] == 20 - 13 + 1
    for other in lit[4:10]:
        v = f(Document("d", other))
        assert v.keep and v.scores == {"decontaminate.matches": 0.0}
    # 12 shared words are not 13
    near = create("decontaminate", eval_files=[_jsonl(tmp_path / "n.jsonl", [{"text": _passage(lit[3], 50, 12) + " zzz"}])],
                  min_words=20)
    assert near(Document("d", lit[3])).keep


def test_min_matches_is_the_declared_threshold(lit, tmp_path):
    """``min_matches`` (default 1) is the rule ``matches >= min_matches``: a document sharing
    one 20-word passage (8 13-grams) is rejected at 8, kept at 9; the other files' reasons are
    the rule's ``also``, and the rejection carries the threshold."""
    quote = _passage(lit[3], 50, 20)
    a = _jsonl(tmp_path / "quiz_a.jsonl", [{"text": _passage(lit[8], 10, 20)}])
    b = _jsonl(tmp_path / "quiz_b.jsonl", [{"text": quote}])
    f = create("decontaminate", eval_files=[a, b])
    (rule,) = f.rules()
    assert (rule.reason, rule.score, rule.op, rule.param, rule.also) == ("quiz_a", "matches", ">=", "min_matches",
                                                                          ("quiz_b",))
    assert f.rule_for("decontaminate.quiz_b") == rule and rule.threshold_of(f) == 1
    v = f(Document("d", lit[3]))
    assert not v.keep and v.reason == "decontaminate.quiz_b" and (v.value, v.threshold) == (8, 1)
    at8 = create("decontaminate", eval_files=[a, b], min_matches=8)(Document("d", lit[3]))
    assert not at8.keep and at8.threshold == 8
    at9 = create("decontaminate", eval_files=[a, b], min_matches=9)(Document("d", lit[3]))
    assert at9.keep and at9.scores == {"decontaminate.matches": 8.0} and not at9.info
    with pytest.raises(ValueError, match="min_matches"):
        create("decontaminate", eval_files=[a], min_matches=0)


def test_short_eval_texts_match_whole(lit, tmp_path):
    ev = _jsonl(tmp_path / "short.jsonl", [{"text": _passage(lit[5], 30, 9)}, {"text": _passage(lit[6], 10, 5)}])
    f = create("decontaminate", eval_files=[ev])  # min_words 8: the 9-word text counts, the 5-word one not
    assert f.index_stats()["short_texts_matched_whole"] == 1 and f.index_stats()["texts_too_short"] == 1
    v = f(Document("d", lit[5]))
    assert not v.keep and v.info["decontaminate.span"] == _passage(lit[5], 30, 9)
    assert f(Document("d", lit[6])).keep
    assert not create("decontaminate", eval_files=[ev], min_words=5)(Document("d", lit[6])).keep
    # a document holding only 8 of the 9 words in a row is clean
    cut = _passage(lit[5], 30, 8)
    assert f(Document("d", f"Preface. {cut}. The end.")).keep


def test_several_files_reason_per_stem_and_formats(lit, tmp_path):
    a = _jsonl(tmp_path / "arc.jsonl", [{"question": "q?", "choices": {"text": [_passage(lit[1], 5, 15)],
                                                                       "label": ["A"]}}])
    pq.write_table(pa.table({"passage": [_passage(lit[2], 100, 14)], "idx": [1]}), tmp_path / "boolq.parquet")
    (tmp_path / "lambada.txt").write_text("short line\n\n" + " ".join(_passage(lit[3], 7, 16).split()) + "\n")
    arr = tmp_path / "squad.json"
    arr.write_text(json.dumps([{"context": "x", "answers": {"text": [_passage(lit[4], 20, 13)], "answer_start": [0]}}]))
    files = [a, str(tmp_path / "boolq.parquet"), str(tmp_path / "lambada.txt"), str(arr)]
    f = create("decontaminate", eval_files=files)
    assert f.reasons == ("arc", "boolq", "lambada", "squad")
    for i, stem in enumerate(f.reasons, start=1):
        v = f(Document("d", lit[i]))
        assert v.reason == f"decontaminate.{stem}" and v.info["decontaminate.benchmark"] == files[i - 1]
    # a document overlapping two files gets the first file's reason
    both = lit[4][:600] + "\n" + lit[1][:600]
    assert f(Document("d", both)).reason == "decontaminate.arc"
    assert f.highlight("decontaminate.squad", both)[0][0][1] <= 600


def test_annotate_mode_marks_and_keeps(lit, tmp_path):
    ev = _jsonl(tmp_path / "gsm8k.jsonl", [{"question": _passage(lit[8], 0, 30), "answer": "#### 4"}])
    chain = FilterChain([ChainStep(create("decontaminate", eval_files=[ev]), "annotate"),
                         ChainStep(create("word_count", min_words=5))])
    doc, rej = chain(Document("d", lit[8]))
    assert rej is None and doc.text == lit[8]
    assert doc.metadata["annotate.decontaminate"] == "decontaminate.gsm8k"
    assert doc.metadata["decontaminate.span"].startswith(_passage(lit[8], 0, 3))
    doc, rej = FilterChain([ChainStep(create("decontaminate", eval_files=[ev]))])(Document("d", lit[8]))
    assert rej is not None and rej.reason == "decontaminate.gsm8k" and rej.filter == "decontaminate"
    assert rej.doc.metadata["decontaminate.benchmark"] == ev and rej.value == 18


def test_normalization_and_stems():
    assert words("Don't PANIC — Café, naïve_ones 42!") == ["don", "t", "panic", "cafe", "naive", "ones", "42"]
    assert [stem_of(p) for p in ("e/mmlu.jsonl.gz", "arc-easy.parquet", "my eval.txt", "x.y.json")] == \
        ["mmlu", "arc-easy", "my_eval", "x_y"]
    with pytest.raises(ValueError, match="share the name"):
        create("decontaminate", eval_files=["a/mmlu.jsonl", "b/mmlu.parquet"])
    with pytest.raises(ValueError, match="at least one"):
        create("decontaminate", eval_files=[])


def test_bad_eval_files_are_user_errors(tmp_path):
    cases = {
        "missing.jsonl": (None, "eval file not found"),
        "bad.jsonl": ('{"text": "ok"}\n{oops\n', "invalid JSON"),
        "nofield.jsonl": ('{"id": 1, "label": "x"}\n', "nofield.jsonl:1: none of the fields"),
        "list.jsonl": ('["a"]\n', "must be a JSON object"),
        "data.csv": ("a,b\n", "unsupported eval file type"),
    }
    for name, (content, message) in cases.items():
        if content is not None:
            (tmp_path / name).write_text(content)
        with pytest.raises(UserError, match=message):
            create("decontaminate", eval_files=[str(tmp_path / name)]).setup()
    custom = _jsonl(tmp_path / "custom.jsonl", [{"body": "one two three four five six seven eight nine ten"}])
    assert create("decontaminate", eval_files=[custom], text_fields="body").index_stats()["texts"] == 1
    # a URI is read through Arrow's filesystems (s3://, gs://, hdfs://; file:// here)
    assert create("decontaminate", eval_files=[f"file://{custom}"], text_fields="body").index_stats()["texts"] == 1


def test_gristmill_run_balances_and_missing_file_is_one_line(demo_dir, tmp_path, capsys):
    from demo_util import read_jsonl
    from gristmill.cli import main

    rows = read_jsonl(demo_dir / "corpus" / "literature.jsonl", 30) + read_jsonl(demo_dir / "corpus" / "sms_spam.jsonl", 30)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _jsonl(corpus / "docs.jsonl", rows)
    evals = tmp_path / "evals"
    evals.mkdir()
    _jsonl(evals / "hamlet.jsonl", [{"text": _passage(rows[2]["text"], 40, 25)}, {"text": _passage(rows[9]["text"], 0, 14)}])
    _jsonl(evals / "sms.jsonl", [{"question": rows[40]["text"]}])
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("filters:\n  - name: pii\n  - name: decontaminate\n    params:\n      eval_files: ["
                   f"{evals / 'hamlet.jsonl'}, {evals / 'sms.jsonl'}]\n")
    out = tmp_path / "run"
    assert main(["run", "--input", str(corpus), "--output", str(out), "--config", str(cfg)]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["balanced"] and s["input_records"] == 60 == s["kept"] + s["rejected"] + s["errors"]
    by = s["by_filter"]["decontaminate"]
    assert by.get("decontaminate.hamlet", 0) == 2 and by.get("decontaminate.sms", 0) >= 1
    rej = {r["id"]: r for r in pq.read_table(out / "rejected").to_pylist()}
    hit = rej[rows[2]["id"]]
    meta = {kv["key"]: kv["value"] for kv in hit["metadata"]}
    assert hit["reason"] == "decontaminate.hamlet" and hit["value"] == 25 - 13 + 1
    assert meta["decontaminate.benchmark"] == str(evals / "hamlet.jsonl")
    assert meta["decontaminate.span"] == _passage(rows[2]["text"], 40, 25)
    assert rej[rows[40]["id"]]["reason"] == "decontaminate.sms"
    kept = pq.read_table(out / "kept").to_pylist()
    assert all(any(kv["key"] == "pii.phone" for kv in r["metadata"]) for r in kept)
    capsys.readouterr()
    cfg.write_text("filters:\n  - name: decontaminate\n    params:\n      eval_files: [" f"{evals / 'nope.jsonl'}]\n")
    assert main(["run", "--input", str(corpus), "--output", str(tmp_path / "run2"), "--config", str(cfg)]) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and err[0].startswith("gristmill: error:") and "eval file not found" in err[0], err
