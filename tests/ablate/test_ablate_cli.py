"""``gristmill ablate`` on the command line: declaring it imports nothing heavy, a core install
says what to install, and every mistake that would spoil the comparison is one line before any
work is done."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gristmill.ablate.evalsets import load_choices
from gristmill.cli import main
from gristmill.cli.ablate import count
from gristmill.errors import UserError
from test_cli_imports import NO_TRAIN_EXTRA as NO_TORCH  # one way to fake a core install

GRISTMILL = [sys.executable, "-m", "gristmill.cli"]
HEAVY = {"torch", "matplotlib", "apache_beam", "pyarrow", "numpy", "pydantic", "tiktoken",
         "tokenizers", "yaml"}


@pytest.fixture()
def raw(demo_dir, tmp_path) -> Path:
    """A small real input: 60 SMS messages."""
    lines = (demo_dir / "corpus" / "sms_spam.jsonl").read_text().splitlines()[:60]
    path = tmp_path / "raw" / "sms.jsonl"
    path.parent.mkdir()
    path.write_text("\n".join(lines) + "\n")
    return path


def _config(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def _ablate(raw: Path, out: Path, *extra: str) -> list[str]:
    return ["ablate", "--input", str(raw), "--output", str(out), "--tokens", "10k", *extra]


def test_declaring_ablate_imports_nothing_heavy():
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    proc = subprocess.run([*GRISTMILL, "ablate", "--help"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0 and "--mc-eval" in proc.stdout
    assert "--max-steps" not in proc.stdout  # set by the ablation: not offered
    imported = {ln.rsplit("|", 1)[1].strip().split(".")[0]
                for ln in proc.stderr.splitlines() if ln.startswith("import time:")}
    # its trainer flags come from the pydantic config models, as `train --help`'s do
    assert "gristmill" in imported and not imported & (HEAVY - {"pydantic"}), sorted(imported & HEAVY)


def test_without_torch_ablate_names_the_install_line(tmp_path, raw):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(NO_TORCH)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([*GRISTMILL, *_ablate(raw, tmp_path / "out"), "--config", "demo"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "`gristmill ablate` needs torch" in proc.stderr
    assert "pip install 'gristmill[train]'" in proc.stderr
    assert not (tmp_path / "out").exists()


def _error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("gristmill: error: "), err
    return err


def test_mistakes_are_one_line_before_any_work(capsys, tmp_path, raw):
    a = _config(tmp_path / "a" / "same.yaml", "normalize: {}\n")
    b = _config(tmp_path / "b" / "same.yaml", "normalize: {}\n")
    out = tmp_path / "out"
    assert "have the same name 'same'" in _error(capsys, _ablate(raw, out, "--config", a, "--config", b))
    assert "--max-steps is set by the ablation: --tokens" in _error(
        capsys, _ablate(raw, out, "--config", a, "--max-steps", "5"))
    assert "--seed is set by the ablation: --seeds" in _error(
        capsys, _ablate(raw, out, "--config", a, "--seed", "5"))
    other = _config(tmp_path / "other.yaml", "input: {text_field: body}\n")
    assert "read the input differently" in _error(capsys, _ablate(raw, out, "--config", a,
                                                                  "--config", other))
    assert "nothing to evaluate on" in _error(capsys, _ablate(raw, out, "--config", a,
                                                              "--heldout-fraction", "0"))
    assert "--mc-eval nope.jsonl: no such file" in _error(capsys, _ablate(raw, out, "--config", a,
                                                                         "--mc-eval", "nope.jsonl"))
    assert not out.exists()  # none of these touched the output

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("not gristmill's")
    assert "no .gristmill-ablation marker" in _error(capsys, _ablate(raw, mine, "--config", a))
    assert (mine / "notes.txt").read_text() == "not gristmill's"
    assert "holds the input" in _error(capsys, _ablate(raw, raw.parent.parent, "--config", a))


def test_counts_take_suffixes():
    assert [count(t) for t in ("300000", "300k", "2.5M", "1B", "1e6")] == [
        300_000, 300_000, 2_500_000, 1_000_000_000, 1_000_000]
    for bad in ("lots", "0", "-5"):
        with pytest.raises(argparse.ArgumentTypeError):
            count(bad)


def test_a_malformed_multiple_choice_line_is_named(tmp_path):
    good = {"ctx": "The cat", "endings": ["sat.", "flew.", "sang."], "label": "0"}
    path = tmp_path / "hs.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "label": 3}) + "\n")
    with pytest.raises(UserError, match=r"hs.jsonl:2: 'label' must be the index of the right ending \(0..2\)"):
        load_choices("hs", str(path))
    path.write_text(json.dumps(good) + "\n")
    assert load_choices("hs", str(path)).items[0].label == 0  # HellaSwag writes labels as strings
