"""One vocabulary of flags (issue 13): `--input` for what a command reads, `--output` for what it
writes, one-directory operands also as a positional, the old names hidden but accepted for one
release, and one error prefix."""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys

import pytest

from gristmill.cli import build_parser, main, parse_command_line
from gristmill.cli.parser import UsageError


def _parse(argv: list[str]) -> argparse.Namespace:
    return parse_command_line(build_parser(), argv)[0]


def _subparser(*names: str) -> argparse.ArgumentParser:
    parser = build_parser()
    for name in names:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    return parser


# (new spelling, old spelling, {dest: value} both must give)
RENAMED = [
    (["train", "--input", "S", "--output", "R"], ["train", "--data", "S", "--out", "R"],
     {"input": "S", "output": "R"}),
    (["sample", "--input", "R"], ["sample", "--ckpt", "R"], {"input": "R"}),
    (["export-hf", "--input", "R", "--output", "H"], ["export-hf", "--ckpt", "R", "--out", "H"],
     {"input": "R", "output": "H"}),
    (["classifier", "train", "--input", "a.jsonl", "b.jsonl", "--output", "m.bin"],
     ["classifier", "train", "--data", "a.jsonl", "b.jsonl", "--out", "m.bin"],
     {"input": ["a.jsonl", "b.jsonl"], "output": "m.bin"}),
    (["classifier", "eval", "--model", "m.bin", "--input", "a.jsonl"],
     ["classifier", "eval", "--model", "m.bin", "--data", "a.jsonl"], {"input": ["a.jsonl"]}),
    (["tokenizer", "train", "--input", "K", "--vocab-size", "300", "--output", "t.json"],
     ["tokenizer", "train", "--input", "K", "--vocab-size", "300", "--out", "t.json"],
     {"output": "t.json"}),
    # one-directory operands: the flag, or the positional it always was
    (["shards", "verify", "--input", "D"], ["shards", "verify", "D"], {"input": "D"}),
    (["shards", "info", "--input", "D"], ["shards", "info", "D"], {"input": "D"}),
    (["report", "--input", "R"], ["report", "R"], {"input": "R"}),
    (["inspect", "--input", "R", "--filter", "c4"], ["inspect", "R", "--filter", "c4"], {"input": "R"}),
    (["data", "demo", "--output", "D"], ["data", "demo", "D"], {"output": "D"}),
]


@pytest.mark.parametrize(("new", "old", "want"), RENAMED, ids=[" ".join(r[0][:2]) for r in RENAMED])
def test_new_and_old_spellings_parse_the_same(new, old, want):
    a, b = _parse(new), _parse(old)
    for dest, value in want.items():
        assert getattr(a, dest) == value and getattr(b, dest) == value
    assert not any(k.endswith("_operand") for k in vars(a)) and not any(k.endswith("_operand") for k in vars(b))
    assert a.func is b.func


@pytest.mark.parametrize(("command", "hidden"), [
    (("train",), ["--data", "--out"]), (("sample",), ["--ckpt"]), (("export-hf",), ["--ckpt", "--out"]),
    (("classifier", "train"), ["--data", "--out"]), (("classifier", "eval"), ["--data"]),
    (("tokenizer", "train"), ["--out"]),
])
def test_old_names_are_hidden_from_help_and_suggestions(command, hidden):
    p = _subparser(*command)
    text = p.format_help()
    assert "--input" in text or "--output" in text
    for flag in hidden:
        assert f"{flag} " not in text and f"{flag}," not in text and f"{flag}\n" not in text
        assert flag not in p.long_flags()


def test_required_flags_stay_required_under_either_name():
    usage = _subparser("train").format_usage()
    assert "--input SHARDS_DIR --output RUN_DIR" in usage  # shown as required, not [optional]
    with pytest.raises(UsageError, match=r"required: --output; see 'gristmill train --help'"):
        _parse(["train", "--data", "S"])
    with pytest.raises(UsageError, match=r"required: --input, --output"):
        _parse(["train"])
    with pytest.raises(UsageError, match=r"required: --model; see 'gristmill classifier eval --help'"):
        _parse(["classifier", "eval", "--input", "t.jsonl"])


def test_classifier_eval_needs_input_or_test_sets():
    """--input became optional when --test NAME=FILE arrived (issue 19): one of them is needed,
    said in one line with exit 2."""
    proc = subprocess.run([sys.executable, "-m", "gristmill.cli", "classifier", "eval", "--model", "m.bin"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "gristmill: error: classifier eval needs --input FILE or at least one --test NAME=FILE"]


def test_an_operand_is_given_once(capsys):
    with pytest.raises(UsageError, match=r"SHARDS_DIR given twice: as an argument and as --input"):
        _parse(["shards", "verify", "D", "--input", "E"])
    with pytest.raises(UsageError, match=r"required: SHARDS_DIR \(or --input SHARDS_DIR\)"):
        _parse(["shards", "info"])
    assert _parse(["report", "--compare", "A", "B"]).input is None  # optional for report
    assert main(["inspect", "--filter", "c4"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["gristmill: error: the following arguments are required: RUN_DIR (or --input "
                   "RUN_DIR); see 'gristmill inspect --help'"]


def test_a_typo_suggests_the_new_name(capsys):
    assert main(["train", "--input", "S", "--output", "R", "--outptu", "x"]) == 2
    assert capsys.readouterr().err == "gristmill: error: unknown flag --outptu (did you mean --output?)\n"


def test_both_spellings_train_the_same_classifier(demo_dir, tmp_path, capsys):
    """Real behaviour: `classifier train/eval` with the new names and with the old ones, on the
    real SMS collection, write byte-identical models and print the same metrics."""
    data = demo_dir / "corpus" / "sms_spam.jsonl"
    small = ["--positive", "spam", "--dim", "10", "--bucket", "10000", "--epoch", "2"]
    assert main(["classifier", "train", "--input", str(data), "--output", str(tmp_path / "new.bin"), *small]) == 0
    assert main(["classifier", "train", "--data", str(data), "--out", str(tmp_path / "old.bin"), *small]) == 0
    new, old = (hashlib.sha256((tmp_path / f"{n}.bin").read_bytes()).hexdigest() for n in ("new", "old"))
    assert new == old
    capsys.readouterr()
    assert main(["classifier", "eval", "--model", str(tmp_path / "new.bin"), "--input", str(data)]) == 0
    by_new = capsys.readouterr().out
    assert main(["classifier", "eval", "--model", str(tmp_path / "new.bin"), "--data", str(data)]) == 0
    assert capsys.readouterr().out == by_new and '"f1"' in by_new
