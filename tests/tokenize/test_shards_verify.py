"""`gristmill shards verify`: any edit, truncation or count mismatch is caught, by exit code;
manifest entries that leave the directory are refused; ``max_id`` is recorded and checked."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from gristmill.cli import main
from gristmill.tokenize import ShardError, open_shards, write_shards
from gristmill.tokenize.shards import shard_path
from gristmill.tokenize.verify import require_trainable, verify_shards


@pytest.fixture()
def shards(sample_docs, gpt2, tmp_path):
    out = tmp_path / "shards"
    write_shards(((d.id, gpt2.encode(d.text)) for d in sample_docs[:60]), out, gpt2,
                 shard_tokens=5_000, val_fraction=0.2)
    return out


def _manifest(out):
    return json.loads((out / "manifest.json").read_text())


def _rewrite(out, m):
    (out / "manifest.json").write_text(json.dumps(m))


def test_clean_shards_pass(shards, capsys):
    assert verify_shards(shards).ok
    assert main(["shards", "verify", str(shards)]) == 0
    out = capsys.readouterr().out
    assert "shards verify: OK" in out and "train" in out and "validation" in out


def test_edited_byte_is_caught(shards, capsys):
    f = shards / _manifest(shards)["shards"][0]["file"]
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit, inside the token data
    f.write_bytes(bytes(data))
    report = verify_shards(shards)
    assert not report.ok and any("sha256" in p and f.name in p for p in report.problems)
    assert main(["shards", "verify", str(shards)]) == 1
    assert "FAIL" in capsys.readouterr().err


def test_truncated_shard_is_caught(shards):
    f = shards / _manifest(shards)["shards"][-1]["file"]
    f.write_bytes(f.read_bytes()[:-200])
    problems = verify_shards(shards).problems
    assert any("sha256" in p for p in problems)
    assert any("not a readable Arrow IPC file" in p for p in problems)


def test_id_above_vocab_is_caught(shards):
    """A consistent-looking set (checksums recomputed) with an id >= vocab_size still fails."""
    m = _manifest(shards)
    m["tokenizer"]["vocab_size"] = 1000  # still uint16; GPT-2 ids go far above 1000
    m["tokenizer"]["eos_id"] = 999
    _rewrite(shards, m)
    problems = verify_shards(shards).problems
    assert any("token id" in p and ">= vocab_size 1000" in p for p in problems)


def test_count_mismatches_are_caught(shards):
    m = _manifest(shards)
    m["shards"][0]["documents"] += 1
    m["totals"]["tokens"] += 5
    _rewrite(shards, m)
    problems = verify_shards(shards).problems
    assert any("EOS tokens (documents), manifest says" in p for p in problems)
    assert any("totals.tokens" in p for p in problems)
    assert any("totals.train.documents" in p or "totals.validation.documents" in p
               for p in problems)


def test_missing_and_unlisted_files_are_caught(shards):
    m = _manifest(shards)
    first = shards / m["shards"][0]["file"]
    shutil.move(first, shards / "train-00099.arrow")
    problems = verify_shards(shards).problems
    assert any("missing" in p and first.name in p for p in problems)
    assert any("not listed" in p and "train-00099.arrow" in p for p in problems)


def test_no_manifest(tmp_path, capsys):
    assert main(["shards", "verify", str(tmp_path)]) == 1
    assert "not a shards directory" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# max_id in the manifest (issue 12): the trainer's cheap check of ids against its vocabulary


def test_writer_records_each_shards_max_id(shards):
    ss = open_shards(shards)
    for split in ("train", "validation"):
        for entry, arr in zip(ss.shards(split), ss.arrays(split), strict=True):
            assert entry["max_id"] == int(arr.max())
    assert verify_shards(shards, full=False).warnings == []


def test_old_manifest_without_max_id_loads_and_verifies(shards, capsys):
    m = _manifest(shards)
    for s in m["shards"]:
        del s["max_id"]
    _rewrite(shards, m)
    assert open_shards(shards).arrays("train")
    assert verify_shards(shards).ok  # the full check reads the ids instead
    quick = verify_shards(shards, full=False)
    assert quick.ok and len(quick.warnings) == len(m["shards"])
    assert all("no max_id" in w for w in quick.warnings)
    assert main(["shards", "verify", str(shards)]) == 0


def test_max_id_that_does_not_match_the_file_is_caught(shards):
    m = _manifest(shards)
    m["shards"][0]["max_id"] -= 1
    _rewrite(shards, m)
    problems = verify_shards(shards).problems
    assert len(problems) == 1 and "manifest max_id says" in problems[0]
    assert m["shards"][0]["file"] in problems[0]


def test_max_id_checked_against_a_model_vocabulary(shards):
    top = max(s["max_id"] for s in _manifest(shards)["shards"])
    assert verify_shards(shards, full=False, model_vocab=top + 1).ok
    problems = verify_shards(shards, full=False, model_vocab=top).problems
    assert problems and all(f">= the model's vocab_size {top}" in p for p in problems)
    with pytest.raises(ShardError, match=f"max_id {top} >= the model's vocab_size {top}"):
        require_trainable(shards, top)


# ---------------------------------------------------------------------------------------------
# Manifest file entries stay inside the shards directory (issue 12)


def _escape(shards, tmp_path, how: str) -> str:
    """Point the first manifest entry at a valid shard outside ``shards``; the entry's name."""
    m = _manifest(shards)
    first = shards / m["shards"][0]["file"]
    outside = tmp_path / "elsewhere" / first.name
    outside.parent.mkdir()
    shutil.move(first, outside)
    if how == "symlink":
        first.symlink_to(outside)
        return first.name
    m["shards"][0]["file"] = {"dotdot": f"../elsewhere/{first.name}", "absolute": str(outside),
                              "passwd": "../../../../../../etc/passwd"}[how]
    _rewrite(shards, m)
    return m["shards"][0]["file"]


@pytest.mark.parametrize("how", ["dotdot", "absolute", "passwd", "symlink"])
def test_paths_outside_the_directory_are_refused(shards, tmp_path, capsys, how):
    name = _escape(shards, tmp_path, how)
    with pytest.raises(ShardError, match="outside the shards directory"):
        open_shards(shards)
    problems = verify_shards(shards).problems
    assert any("outside the shards directory" in p and name in p for p in problems)
    assert main(["shards", "verify", str(shards)]) == 1
    assert "outside the shards directory" in capsys.readouterr().err


def test_shard_path_rules(tmp_path):
    (tmp_path / "store").mkdir()
    assert shard_path(tmp_path, "train-00000.arrow") == tmp_path / "train-00000.arrow"
    for bad in ("", None, 7, "a\0b", "/etc/passwd", "..", "store/../../x.arrow"):
        with pytest.raises(ShardError):
            shard_path(tmp_path, bad)


def test_symlink_that_stays_inside_is_allowed(shards):
    m = _manifest(shards)
    first = shards / m["shards"][0]["file"]
    (shards / "store").mkdir()
    shutil.move(first, shards / "store" / first.name)
    first.symlink_to(Path("store") / first.name)
    assert verify_shards(shards).ok
    assert open_shards(shards).arrays("train")[0].size == m["shards"][0]["tokens"]
