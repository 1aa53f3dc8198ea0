"""The held-out slice (``gristmill.ablate.heldout``): carved from the raw input by a hash of the
id before any filtering, written once, disjoint from what the configs train on, every raw
record accounted for, in the configs' own field names."""

from __future__ import annotations

import json
import os

from demo_util import read_jsonl
from gristmill.ablate.heldout import CARVE_FILE, HELDOUT_FILE, INPUT_DIR, carve, is_heldout
from gristmill.config import InputConfig
from gristmill.pipelines.parse import parse_record
from gristmill.pipelines.readers import expand_inputs, read_file


def _ids(path) -> list[str]:
    return [r["id"] for r in read_jsonl(path)]


def test_carve_splits_the_raw_input_by_id_and_accounts_for_every_record(demo_dir, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    sms = read_jsonl(demo_dir / "corpus" / "sms_spam.jsonl")
    (raw / "sms.jsonl").write_text("".join(json.dumps(r) + "\n" for r in sms) + "{not json\n")
    out = tmp_path / "abl"
    out.mkdir()
    got = carve([str(raw)], InputConfig(), 0.1, out)

    held = _ids(out / HELDOUT_FILE)
    pool = [i for f in sorted((out / INPUT_DIR).iterdir()) for i in _ids(f)]
    assert got["raw_records"] == len(sms) + 1 == got["heldout"] + got["train_pool"] + got["unreadable"]
    assert got["unreadable_by_type"] == {"malformed_json": 1}
    assert (len(held), len(pool)) == (got["heldout"], got["train_pool"])
    assert not set(held) & set(pool)
    assert set(held) == {r["id"] for r in sms if is_heldout(r["id"], 0.1)}
    assert 0.08 < len(held) / len(sms) < 0.12
    # the pool keeps the documents as they were (text, source, other fields)
    by_id = {r["id"]: r for r in sms}
    for row in read_jsonl(next((out / INPUT_DIR).iterdir()), limit=50):
        assert row["text"] == by_id[row["id"]]["text"]
        assert row["label"] == by_id[row["id"]]["label"]


def test_carve_is_reused_until_the_input_or_the_fraction_changes(demo_dir, tmp_path):
    raw = tmp_path / "raw.jsonl"
    raw.write_bytes((demo_dir / "corpus" / "sms_spam.jsonl").read_bytes())
    out = tmp_path / "abl"
    out.mkdir()
    first = carve([str(raw)], InputConfig(), 0.05, out)
    stamp = os.stat(out / HELDOUT_FILE).st_mtime_ns
    assert carve([str(raw)], InputConfig(), 0.05, out) == first
    assert os.stat(out / HELDOUT_FILE).st_mtime_ns == stamp  # not rewritten
    second = carve([str(raw)], InputConfig(), 0.2, out)
    assert second["heldout"] > first["heldout"]
    with open(raw, "a") as f:
        f.write(json.dumps({"id": "new", "text": "one more document"}) + "\n")
    assert carve([str(raw)], InputConfig(), 0.2, out)["raw_records"] == second["raw_records"] + 1
    assert json.loads((out / CARVE_FILE).read_text())["raw_records"] == second["raw_records"] + 1


def test_the_pool_uses_the_configs_field_names(demo_dir, tmp_path):
    cfg = InputConfig(text_field="body", id_field="key")
    rows = read_jsonl(demo_dir / "corpus" / "literature.jsonl", limit=40)
    raw = tmp_path / "raw.jsonl"
    raw.write_text("".join(json.dumps({"key": r["id"], "body": r["text"], "source": r["source"]}) + "\n"
                           for r in rows))
    out = tmp_path / "abl"
    out.mkdir()
    carve([str(raw)], cfg, 0.25, out)
    pool = expand_inputs([str(out / INPUT_DIR)])
    docs = [parse_record(rec, cfg) for f in pool for rec in read_file(f)]
    held = _ids(out / HELDOUT_FILE)
    assert sorted([d.id for d in docs] + held) == sorted(r["id"] for r in rows)
    texts = {r["id"]: r["text"] for r in rows}
    assert all(d.text == texts[d.id] for d in docs)
