"""``tokenizer train`` says what it trains on and how long it took."""

from __future__ import annotations

import json
import logging

import pyarrow as pa
import pyarrow.parquet as pq

from gristmill.tokenize.train_bpe import train_bpe


def test_tokenizer_train_logs_its_input_and_time(demo_dir, tmp_path, caplog):
    lines = (demo_dir / "corpus" / "sms_spam.jsonl").read_text(encoding="utf-8").splitlines()[:500]
    texts = [json.loads(x)["text"] for x in lines]
    pq.write_table(pa.table({"text": texts}), tmp_path / "kept.parquet")
    caplog.set_level(logging.INFO, logger="gristmill")
    train_bpe([str(tmp_path / "kept.parquet")], 400, tmp_path / "tok.json")
    msgs = [r.getMessage() for r in caplog.records if r.name == "gristmill"]
    assert msgs[0] == ("tokenizer train: byte-level BPE, vocab 400, min frequency 2, on 500 "
                       "documents in 1 Parquet file(s)")
    assert msgs[1].startswith("tokenizer train: done in ") and msgs[1].endswith(f"(vocab 400) -> {tmp_path / 'tok.json'}")
