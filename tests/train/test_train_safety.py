"""Issue 12 for the trainer: it verifies its shards before it trains, ``--resume`` means resume,
and a bad checkpoint is one line. Every failure is exit 2 with one ``gristmill: error:`` line.

Each test mutates a private copy of the real demo shards (512-token BPE, EOS id 0).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from gristmill.cli import main
from gristmill.tokenize import shards as sh
from gristmill.train import checkpoint as ck

TINY = ["--preset", "tiny", "--n-layer", "1", "--n-head", "2", "--n-embd", "16",
        "--block-size", "32", "--batch-size", "4", "--warmup-steps", "1", "--eval-batches", "1",
        "--dtype", "fp32", "--no-progress", "--max-steps", "2", "--eval-every", "2",
        "--ckpt-every", "2", "--log-every", "1"]


def _train(data: Path, out: Path, *extra: str) -> int:
    return main(["train", "--data", str(data), "--out", str(out), *TINY, *extra])


def _one_error_line(err: str) -> str:
    """The whole of stderr for a user error: one line, ``gristmill: error: ...``, no traceback."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("gristmill: error: "), err
    assert "Traceback" not in err
    return lines[0]


def _manifest(d: Path) -> dict:
    return json.loads((d / sh.MANIFEST).read_text())


def _rewrite(d: Path, m: dict) -> None:
    (d / sh.MANIFEST).write_text(json.dumps(m, indent=2))


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture
def shards(demo_shards, tmp_path) -> Path:
    """A private copy of the demo shards, free to damage."""
    return Path(shutil.copytree(demo_shards, tmp_path / "shards"))


@pytest.fixture(scope="module")
def finished_run(demo_shards, tmp_path_factory) -> Path:
    """A 2-step run with metrics.jsonl, ckpt/best.pt and ckpt/last.pt (copy before changing)."""
    run = tmp_path_factory.mktemp("safety") / "run"
    assert _train(demo_shards, run) == 0
    assert {"last.pt", "best.pt"} <= {p.name for p in (run / "ckpt").iterdir()}
    return run


# ---------------------------------------------------------------------------------------------
# The trainer verifies its shards


def test_flipped_byte_is_refused_before_training(shards, tmp_path):
    """Through the real `gristmill` script: exit 2, one line naming the shard, nothing trained."""
    f = shards / _manifest(shards)["shards"][0]["file"]
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0x01
    f.write_bytes(bytes(data))
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "gristmill.cli", "train", "--data", str(shards),
                           "--out", str(out), *TINY], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 2
    line = _one_error_line(proc.stderr)
    assert f.name in line and "sha256" in line
    assert not (out / "ckpt").exists() and not (out / "metrics.jsonl").exists()


def test_no_verify_skips_the_sha256_read_and_says_so(shards, tmp_path, capsys, caplog):
    m = _manifest(shards)
    m["shards"][0]["sha256"] = "0" * 64  # a checksum that no longer matches its file
    _rewrite(shards, m)
    assert _train(shards, tmp_path / "checked") == 2
    assert "sha256" in _one_error_line(capsys.readouterr().err)
    with caplog.at_level(logging.WARNING, logger="gristmill.train"):
        assert _train(shards, tmp_path / "unchecked", "--no-verify") == 0
    assert any("--no-verify" in r.getMessage() for r in caplog.records)


def _put_id(shards: Path, token_id: int) -> str:
    """Write ``token_id`` into the first train shard, keeping sha256 and max_id consistent (a
    manifest that tells the truth about ids the vocabulary does not have)."""
    m = _manifest(shards)
    entry = m["shards"][0]
    f = shards / entry["file"]
    tokens = np.array(sh.map_token_file(f))
    tokens[5] = token_id
    entry["sha256"] = sh.write_token_file(f, tokens)
    entry["max_id"] = int(tokens.max())
    _rewrite(shards, m)
    return f.name


@pytest.mark.parametrize("flags", [[], ["--no-verify"]])
def test_ids_above_the_vocabulary_are_refused(shards, tmp_path, capsys, flags):
    name = _put_id(shards, 600)  # vocab_size is 512
    assert _train(shards, tmp_path / "run", *flags) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert name in line and "600 >= vocab_size 512" in line


def test_manifest_vocab_smaller_than_the_ids_is_refused(shards, tmp_path, capsys, caplog):
    m = _manifest(shards)
    m["tokenizer"]["vocab_size"] = 300  # the demo ids go up to 511; still uint16
    _rewrite(shards, m)
    # The manifest's max_id catches it without reading the shards ...
    assert _train(shards, tmp_path / "a", "--no-verify") == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "max_id" in line and ">= vocab_size 300" in line and "-0000" in line
    # ... and a manifest from before max_id existed is caught by the full read.
    for s in m["shards"]:
        del s["max_id"]
    _rewrite(shards, m)
    assert _train(shards, tmp_path / "b") == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "token id" in line and ">= vocab_size 300" in line and ".arrow" in line


def test_old_manifest_without_max_id_trains_and_no_verify_says_what_it_skipped(
        shards, tmp_path, caplog):
    m = _manifest(shards)
    for s in m["shards"]:
        del s["max_id"]
    _rewrite(shards, m)
    assert _train(shards, tmp_path / "full") == 0
    with caplog.at_level(logging.WARNING, logger="gristmill.train"):
        assert _train(shards, tmp_path / "quick", "--no-verify") == 0
    assert any("no max_id" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("how", ["dotdot", "absolute", "symlink"])
def test_manifest_paths_outside_the_shards_directory_are_never_opened(shards, tmp_path, capsys,
                                                                      how):
    """The outside file is a valid shard: before the fix it was opened and trained on."""
    m = _manifest(shards)
    first = shards / m["shards"][0]["file"]
    outside = tmp_path / "elsewhere" / "stolen.arrow"
    outside.parent.mkdir()
    shutil.copyfile(first, outside)
    if how == "symlink":
        first.unlink()
        first.symlink_to(outside)
    else:
        first.unlink()
        m["shards"][0]["file"] = "../elsewhere/stolen.arrow" if how == "dotdot" else str(outside)
        _rewrite(shards, m)
    assert _train(shards, tmp_path / "run", "--no-verify") == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "outside the shards directory" in line
    assert ("stolen.arrow" in line) or (first.name in line)


# ---------------------------------------------------------------------------------------------
# --resume means resume


@pytest.mark.parametrize("remove", [["last.pt"], ["last.pt", "best.pt"]])
def test_resume_without_last_checkpoint_is_an_error_that_touches_nothing(finished_run, demo_shards,
                                                                         tmp_path, capsys, remove):
    run = Path(shutil.copytree(finished_run, tmp_path / "run"))
    for name in remove:
        (run / "ckpt" / name).unlink()
    before = {p: _sha(p) for p in run.rglob("*") if p.is_file()}
    assert _train(demo_shards, run, "--resume") == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "no ckpt/last.pt" in line and "metrics.jsonl" in line
    assert ("ckpt/best.pt" in line) == ("best.pt" not in remove)
    assert {p: _sha(p) for p in run.rglob("*") if p.is_file()} == before


def test_resume_on_a_new_or_empty_directory_starts_fresh_and_says_so(demo_shards, tmp_path,
                                                                     caplog):
    (tmp_path / "empty").mkdir()
    for run in (tmp_path / "new", tmp_path / "empty"):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="gristmill.train"):
            assert _train(demo_shards, run, "--resume") == 0
        assert f"no checkpoint in {run}: starting a new run" in caplog.text
        assert ck.load(run / "ckpt" / "last.pt")["step"] == 2


# ---------------------------------------------------------------------------------------------
# A file that is not a checkpoint


def _garbage(path: Path, kind: str) -> None:
    if kind == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif kind == "random":
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    else:  # a valid torch file that is not a gristmill checkpoint
        torch.save({"format": ck.FORMAT_VERSION, "weights": torch.zeros(3)}, path)


@pytest.mark.parametrize("kind", ["truncated", "random", "foreign"])
def test_corrupt_checkpoint_is_one_line_in_every_command(finished_run, demo_shards, tmp_path,
                                                         capsys, kind):
    run = Path(shutil.copytree(finished_run, tmp_path / "run"))
    last, best = run / "ckpt" / "last.pt", run / "ckpt" / "best.pt"
    _garbage(last, kind)
    _garbage(best, kind)
    commands = [
        (["train", "--data", str(demo_shards), "--out", str(run), *TINY, "--resume"], last),
        (["sample", "--ckpt", str(run), "--prompt", "KING", "--max-new-tokens", "2"], best),
        (["sample", "--ckpt", str(last), "--max-new-tokens", "2"], last),
        (["export-hf", "--ckpt", str(run), "--out", str(tmp_path / "hf")], best),
    ]
    for argv, path in commands:
        assert main(argv) == 2, argv
        line = _one_error_line(capsys.readouterr().err)
        assert f"{path}: not a gristmill checkpoint / corrupt" in line, argv
    assert not (tmp_path / "hf").exists()
