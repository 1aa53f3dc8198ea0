"""What training prints: plain log lines off a terminal (and with --no-progress), a bar on one."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from gristmill.train.trainer import train

LINE = re.compile(r"^step (\d+)/6: loss \d+\.\d{4} lr \d\.\d\de-\d\d [\d,]+ tok/s [\d.]+ GFLOP/s$")


@pytest.mark.parametrize("progress", [True, False], ids=["default", "no-progress"])
def test_without_a_terminal_one_plain_line_per_log_interval(demo_shards, small_configs, tmp_path,
                                                            caplog, capsys, progress):
    m, t = small_configs(progress=progress, log_every=2)
    caplog.set_level(logging.INFO, logger="gristmill")
    train(demo_shards, tmp_path / "run", m, t)
    msgs = [r.getMessage() for r in caplog.records if r.name.startswith("gristmill")]
    steps = [int(LINE.match(x).group(1)) for x in msgs if LINE.match(x)]
    assert steps == [2, 3, 4, 6]  # every log_every steps, plus each eval (eval_every=3)
    recs = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    first = next(x for x in msgs if LINE.match(x))
    assert f"loss {recs[0]['loss']:.4f}" in first  # the line says what metrics.jsonl records
    assert sum(x.startswith(("step 3: val loss", "step 6: val loss")) for x in msgs) == 2
    err = capsys.readouterr().err
    assert "\r" not in err and "it/s" not in err  # no tqdm bar in a log file


def test_on_a_terminal_the_bar_stays_and_no_lines(demo_shards, small_configs, tmp_path, caplog,
                                                  capsys, monkeypatch):
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    err = Tty()
    monkeypatch.setattr("sys.stderr", err)
    m, t = small_configs(progress=True, log_every=2)
    caplog.set_level(logging.INFO, logger="gristmill")
    train(demo_shards, tmp_path / "run", m, t)
    assert "6/6" in err.getvalue() and "\r" in err.getvalue()  # tqdm's bar
    assert "step 6: val loss" in capsys.readouterr().out  # tqdm.write, above the bar
    assert not [r for r in caplog.records if LINE.match(r.getMessage())]
