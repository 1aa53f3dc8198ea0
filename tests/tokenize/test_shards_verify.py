"""`gristmill shards verify`: any edit, truncation or count mismatch is caught, by exit code."""

from __future__ import annotations

import json
import shutil

import pytest

from gristmill.cli import main
from gristmill.tokenize import write_shards
from gristmill.tokenize.verify import verify_shards


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
