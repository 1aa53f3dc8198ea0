"""`-v/-q/--log-level` on every command (issue 13): they set the `gristmill` logger's level,
keep Beam's loggers at warnings unless `--log-level DEBUG`, work before and after the command
name, and never touch a command's result on stdout."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from gristmill.cli import build_parser, log_levels, main, parse_command_line

SCRIPT = Path(sys.executable).with_name("gristmill")
GRISTMILL = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "gristmill.cli"]
DEBUG, INFO, WARN, ERROR = logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR


def _levels(argv: list[str]) -> tuple[int, int, int]:
    args = parse_command_line(build_parser(), argv)[0]
    got = log_levels(args)
    return got["gristmill"], got["apache_beam"], got[""]


@pytest.mark.parametrize(("flags", "want"), [
    ([], (INFO, WARN, WARN)),
    (["-v"], (DEBUG, WARN, WARN)),
    (["-q"], (WARN, WARN, WARN)),
    (["-qq"], (ERROR, ERROR, ERROR)),
    (["--quiet", "--quiet", "--quiet"], (ERROR, ERROR, ERROR)),
    (["-v", "-q"], (INFO, WARN, WARN)),
    (["--log-level", "debug"], (DEBUG, DEBUG, WARN)),  # only an explicit DEBUG lets Beam talk
    (["--log-level", "WARNING", "-v"], (WARN, WARN, WARN)),  # the explicit level wins
    (["--log-level=ERROR"], (ERROR, ERROR, ERROR)),
])
def test_levels(flags, want):
    assert _levels(["filters", "list", *flags]) == want  # after the command name
    assert _levels([*flags, "filters", "list"]) == want  # before it


@pytest.mark.parametrize("argv", [
    ["run", "--input", "i", "--output", "o", "-q"],
    ["tokenize", "--input", "i", "--output", "o", "--log-level", "INFO"],
    ["classifier", "train", "--input", "a", "--output", "m.bin", "-v"],
    ["shards", "verify", "d", "-q"], ["report", "r", "-v"], ["data", "demo", "d", "-q"],
    ["train", "--input", "s", "--output", "r", "-q"], ["sample", "--input", "r", "-v"],
    ["export-hf", "--input", "r", "--output", "h", "-q"], ["inspect", "r", "--filter", "c4", "-v"],
    ["tokenizer", "train", "--input", "k", "--vocab-size", "300", "--output", "t", "-q"],
])
def test_every_command_takes_them(argv):
    args = parse_command_line(build_parser(), argv)[0]
    assert args.verbose + args.quiet + bool(args.log_level) == 1


def test_a_flag_value_before_the_command_is_not_the_command():
    """`--log-level DEBUG run ...`: `run` (not `DEBUG`) is the command, so Beam's options pass."""
    args, extra = parse_command_line(build_parser(), [
        "--log-level", "DEBUG", "run", "--input", "i", "--output", "o", "--job_name", "x"])
    assert args.command == "run" and args.log_level == "DEBUG" and extra == ["--job_name", "x"]


def test_bad_level_is_a_usage_error(capsys):
    assert main(["filters", "list", "--log-level", "loud"]) == 2
    assert capsys.readouterr().err == ("gristmill: error: argument --log-level: expected one of "
                                       "DEBUG, INFO, WARNING, ERROR, got 'loud'; see "
                                       "'gristmill filters list --help'\n")


def test_report_quiet_with_html_writes_only_the_page(small_run, tmp_path, capsys):
    html = tmp_path / "r.html"
    assert main(["report", str(small_run), "--html", str(html), "-q"]) == 0
    out = capsys.readouterr().out
    assert html.stat().st_size > 10_000 and "HTML report:" in out and "word_count" not in out
    assert main(["report", str(small_run), "-q"]) == 0  # without --html, -q keeps the tables
    assert "word_count" in capsys.readouterr().out


def test_main_restores_logger_levels():
    before = {n: logging.getLogger(n).level for n in ("", "gristmill", "apache_beam")}
    assert main(["filters", "list", "-qq"]) == 0
    assert {n: logging.getLogger(n).level for n in before} == before


# --- behaviour: what shows up, on real data --------------------------------------------

@pytest.fixture(scope="module")
def sms(demo_dir, tmp_path_factory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("logging")
    lines = (demo_dir / "corpus" / "sms_spam.jsonl").read_bytes().splitlines(keepends=True)[:100]
    (d / "sms.jsonl").write_bytes(b"".join(lines))
    (d / "c.yaml").write_text("filters:\n  - name: word_count\n    params: {min_words: 5}\n")
    return d / "sms.jsonl", d / "c.yaml"


def _run(sms: tuple[Path, Path], out: Path, *flags: str) -> list[str]:
    return ["run", "--input", str(sms[0]), "--output", str(out), "--config", str(sms[1]), *flags]


def _gristmill_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("gristmill")]


@pytest.fixture(scope="module")
def small_run(sms, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "out"
    assert main(_run(sms, out)) == 0
    return out


def test_run_says_what_it_runs_by_default(sms, tmp_path, caplog, capsys):
    caplog.set_level(logging.NOTSET)
    assert main(_run(sms, tmp_path / "o")) == 0
    recs = _gristmill_records(caplog)
    assert any(r.levelno == INFO and r.getMessage().startswith("run: 1 input(s) -> ") for r in recs)
    assert not [r for r in recs if r.levelno < INFO]
    assert "input = kept + rejected + errors: yes" in capsys.readouterr().out


def test_quiet_silences_info_not_results(sms, tmp_path, caplog, capsys):
    caplog.set_level(logging.NOTSET)
    assert main(["-q", *_run(sms, tmp_path / "o")]) == 0
    assert not [r for r in _gristmill_records(caplog) if r.levelno < WARN]
    assert "input = kept + rejected + errors: yes" in capsys.readouterr().out  # the result


def test_verbose_shows_debug(sms, tmp_path, caplog):
    caplog.set_level(logging.NOTSET)
    assert main(_run(sms, tmp_path / "o", "-v")) == 0
    recs = _gristmill_records(caplog)
    assert any(r.levelno == DEBUG and r.getMessage().startswith("gristmill ") for r in recs)
    assert any(r.levelno == DEBUG and r.getMessage().startswith("run: exit 0 after ") for r in recs)
    assert any(r.levelno == INFO for r in recs)


def test_log_lines_go_to_stderr_results_to_stdout():
    """The real script: logs on stderr, formatted; the result alone on stdout."""
    proc = subprocess.run([*GRISTMILL, "filters", "list", "-v"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "word_count (v1)" in proc.stdout
    assert "DEBUG gristmill: gristmill " in proc.stderr and "DEBUG" not in proc.stdout
    quiet = subprocess.run([*GRISTMILL, "-q", "filters", "list"], capture_output=True, text=True,
                           timeout=120)
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout == proc.stdout
    plain = subprocess.run([*GRISTMILL, "filters", "list"], capture_output=True, text=True,
                           timeout=120)
    assert plain.stderr == "" and plain.stdout == proc.stdout
