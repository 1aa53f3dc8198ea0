"""A strict command line (issue 12, item 10): unknown flags, bad values and bad runners are
one line on stderr and exit 2; Beam's real pipeline options still reach the runner."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gristmill.cli import build_parser, main, parse_command_line
from gristmill.cli.parser import UsageError
from gristmill.errors import UserError
from gristmill.pipelines.beam_util import make_pipeline

WORD_COUNT = "filters:\n  - name: word_count\n    params: {min_words: 3}\n"


@pytest.fixture(scope="module")
def sms(demo_dir, tmp_path_factory) -> tuple[Path, Path]:
    """200 real SMS messages and a one-filter config."""
    d = tmp_path_factory.mktemp("strict")
    lines = (demo_dir / "corpus" / "sms_spam.jsonl").read_bytes().splitlines(keepends=True)[:200]
    (d / "sms.jsonl").write_bytes(b"".join(lines))
    (d / "c.yaml").write_text(WORD_COUNT)
    return d / "sms.jsonl", d / "c.yaml"


def _run_args(sms: tuple[Path, Path], out: Path, *more: str) -> list[str]:
    return ["run", "--input", str(sms[0]), "--output", str(out), "--config", str(sms[1]), *more]


def _one_error_line(capsys) -> str:
    """stderr holds exactly one non-empty line, the `gristmill: error:` one; return it."""
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert "Traceback" not in err, err
    assert len(lines) == 1 and lines[0].startswith("gristmill: error: "), err
    return lines[0]


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--overwite"], "unknown flag --overwite (did you mean --overwrite?)"),
        (["--wokers", "2"], "unknown flag --wokers (did you mean --workers?)"),
        (["--over"], "unknown flag --over (did you mean --overwrite?)"),  # no prefix matching
        (["--job_nme=x"], "unknown flag --job_nme (did you mean --job_name?)"),  # Beam's own flags
        (["--frobnicate"], "unknown flag --frobnicate; see 'gristmill run --help'"),
        (["stray"], "unexpected argument 'stray'"),
        (["--workers", "0"], "argument --workers: must be >= 1, got 0"),
        (["--workers", "-1"], "argument --workers: must be >= 1, got -1"),
        (["--workers", "two"], "argument --workers: expected a whole number >= 1, got 'two'"),
        (["--direct_num_workers", "many"], "--direct_num_workers: invalid int value: 'many'"),
    ],
)
def test_run_rejects_bad_flags_before_anything_is_written(sms, tmp_path, capsys, flags, expected):
    out = tmp_path / "o"
    assert main(_run_args(sms, out, *flags)) == 2
    assert expected in _one_error_line(capsys)
    assert not out.exists() and not Path(f"{out}.partial").exists()


def test_unknown_runner_names_the_known_ones(sms, tmp_path, capsys):
    assert main(_run_args(sms, tmp_path / "o", "--runner", "Nope")) == 2
    line = _one_error_line(capsys)
    assert "unknown --runner 'Nope'" in line and "PortableRunner" in line and "FnApiRunner" in line
    assert main(_run_args(sms, tmp_path / "o", "--runner", "no_such_module.Runner")) == 2
    assert "cannot be loaded: No module named 'no_such_module'" in _one_error_line(capsys)
    assert not (tmp_path / "o").exists()


def test_make_pipeline_checks_runner_and_workers():
    with pytest.raises(UserError, match="workers must be >= 1, got 0"):
        make_pipeline(None, 0)
    with pytest.raises(UserError, match="unknown --runner 'Nope'"):
        make_pipeline("Nope", 1)


def test_other_commands_are_strict_too(capsys):
    assert main(["filters", "list", "--jsn"]) == 2
    assert _one_error_line(capsys) == "gristmill: error: unknown flag --jsn (did you mean --json?)"
    assert main(["inspect", "somewhere", "--filter", "c4", "-n", "0"]) == 2
    assert "argument -n: must be >= 1, got 0" in _one_error_line(capsys)
    assert main(["rn"]) == 2
    assert "invalid choice: 'rn'" in _one_error_line(capsys)
    assert main(["data", "demo"]) == 2
    assert "required: DEST (or --output DEST); see 'gristmill data demo --help'" in _one_error_line(capsys)


def test_beam_options_pass_before_and_after_double_dash():
    args, extra = parse_command_line(build_parser(), [
        "run", "--input", "in", "--output", "out", "--job_name", "gm-test", "--workers", "2",
        "--", "--only_the_job_server_knows=1", "--overwite",
    ])
    assert args.workers == 2 and not args.overwrite
    # Before `--`: checked against Beam's PipelineOptions; after it: passed on unchecked.
    assert extra == ["--job_name", "gm-test", "--only_the_job_server_knows=1", "--overwite"]
    p = make_pipeline(args.runner, args.workers, extra)
    assert p.options.get_all_options()["job_name"] == "gm-test"


@pytest.mark.parametrize(
    "flags",
    [
        ["--runner", "DataflowRunner", "--project", "P", "--region", "us-central1",
         "--temp_location", "gs://b/tmp", "--setup_file", "./setup.py"],
        ["--runner", "FlinkRunner", "--flink_master", "host:8081", "--environment_type", "DOCKER"],
        ["--runner", "SparkRunner", "--spark_master_url", "spark://host:7077", "--environment_type", "DOCKER"],
        ["--runner", "PortableRunner", "--job_endpoint=embed", "--environment_type=LOOPBACK"],
    ],
)
def test_readme_runner_examples_parse(flags):
    _, extra = parse_command_line(build_parser(), ["run", "--input", "in", "--output", "out", *flags])
    assert extra == flags[2:]


def test_run_with_beam_options_completes(sms, tmp_path, capsys):
    out = tmp_path / "o"
    rc = main(_run_args(sms, out, "--job_name", "gm-test", "--", "--only_the_job_server_knows=1"))
    assert rc == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["input_records"] == 200 and s["balanced"]


def test_output_that_is_a_file_is_refused_and_kept(sms, tmp_path, capsys):
    f = tmp_path / "precious.txt"
    f.write_text("not a run directory\n")
    before = hashlib.sha256(f.read_bytes()).hexdigest()
    for more in ([], ["--overwrite"]):
        assert main(_run_args(sms, f, *more)) == 2
        assert f"--output {f} is a file, not a directory" in _one_error_line(capsys)
    assert hashlib.sha256(f.read_bytes()).hexdigest() == before
    assert not Path(f"{f}.partial").exists()


def test_bad_tokenizer_in_config_fails_before_reading(sms, tmp_path, capsys):
    bad = tmp_path / "tokenizer.json"
    bad.write_text('{"model": "not a tokenizer"')
    cfg = tmp_path / "tok.yaml"
    cfg.write_text(WORD_COUNT + f"tokenize:\n  tokenizer: {bad}\n")
    out = tmp_path / "o"
    rc = main(["run", "--input", str(sms[0]), "--output", str(out), "--config", str(cfg)])
    assert rc == 2
    line = _one_error_line(capsys)
    assert f"cannot load tokenizer '{bad}'" in line and "not a valid HF tokenizers JSON file" in line
    assert not out.exists() and not Path(f"{out}.partial").exists()


def test_data_demo_to_an_unwritable_path(tmp_path, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    assert main(["data", "demo", str(a_file / "demo")]) == 2
    assert f"cannot write the demo corpus to {a_file / 'demo' / 'corpus'}: Not a directory" in _one_error_line(capsys)
    assert main(["data", "demo", "/proc/gristmill-demo"]) == 2  # /proc takes no new directories
    assert "cannot write the demo corpus to /proc/gristmill-demo" in _one_error_line(capsys)


def test_debug_shows_the_traceback(sms, tmp_path):
    with pytest.raises(UsageError, match="--overwite"):
        main(["--debug", *_run_args(sms, tmp_path / "o", "--overwite")])


def test_script_exit_status_and_stderr(sms, tmp_path):
    """Through a real process: exit status 2, one stderr line, nothing on stdout."""
    env = {**os.environ, "GRISTMILL_DEBUG": ""}
    for flags in (["--overwite"], ["--runner", "Nope"]):
        cmd = [sys.executable, "-m", "gristmill.cli", *_run_args(sms, tmp_path / "o", *flags)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        assert proc.returncode == 2 and proc.stdout == "", proc
        assert len(lines) == 1 and lines[0].startswith("gristmill: error: "), proc.stderr
