"""The README's cluster commands ship gristmill to the workers, as written.

Each ``gristmill run`` example in the README's Runners section (Dataflow, Flink, Spark) is
split as the shell would split it, in a directory whose ``dist/`` holds a freshly built wheel
(so ``dist/gristmill-*.whl`` expands to it). It goes through gristmill's own command line and
``make_pipeline``, and the options that yields go to Beam's
``environments.python_sdk_dependencies``: the function DataflowRunner and the portable
environments (Flink's and Spark's ``--environment_type DOCKER``) call to collect what the
stager uploads for the workers. The gristmill wheel must be among the staged files and in
``extra_packages.txt``, the list a worker's boot installs from. No job is submitted.
"""

from __future__ import annotations

import glob
import shlex
import shutil
import tempfile
import zipfile
from pathlib import Path

import pytest
from apache_beam.runners.portability.stager import Stager
from apache_beam.transforms import environments

from gristmill.cli import build_parser, parse_command_line
from gristmill.pipelines.beam_util import make_pipeline
from wheel_util import REPO

# What the README's Flink and Spark examples elide as `...`.
ELIDED = ["--input", "raw/*.jsonl", "--output", "runs/r1"]


def readme_run_examples(readme: str) -> dict[str, list[str]]:
    """The ``gristmill run`` commands of the README's Runners section, by ``--runner``."""
    section = readme.split("\n### Runners\n", 1)[1].split("\n## ", 1)[0]
    code = "\n".join(ln[4:] for ln in section.splitlines() if ln.startswith("    "))
    commands = [shlex.split(ln, comments=True) for ln in code.replace("\\\n", " ").splitlines()]
    examples = {}
    for argv in commands:
        if argv[:2] == ["gristmill", "run"]:
            examples[argv[argv.index("--runner") + 1]] = argv
    return examples


def shell_expand(argv: list[str]) -> list[str]:
    """Expand glob words against the current directory as sh does; ``...`` is the elided input."""
    out: list[str] = []
    for word in argv:
        if word == "...":
            out += ELIDED
        elif any(c in word for c in "*?[") and (matches := sorted(glob.glob(word))):
            out += matches
        else:
            out.append(word)
    return out


EXAMPLES = readme_run_examples((REPO / "README.md").read_text(encoding="utf-8"))


def test_readme_shows_every_cluster_runner_with_the_wheel():
    assert sorted(EXAMPLES) == ["DataflowRunner", "FlinkRunner", "SparkRunner"]
    for argv in EXAMPLES.values():
        assert "--setup_file" not in argv  # there is no setup.py
        assert argv[argv.index("--extra_package") + 1] == "dist/gristmill-*.whl"


@pytest.mark.parametrize("runner", sorted(EXAMPLES))
def test_beam_stages_the_gristmill_wheel(runner, gristmill_wheel, tmp_path, monkeypatch):
    cwd = tmp_path / "checkout"
    (cwd / "dist").mkdir(parents=True)
    wheel = Path(shutil.copy2(gristmill_wheel, cwd / "dist"))
    monkeypatch.chdir(cwd)
    # Beam keeps a requirements cache under the temp dir: keep it in this test's directory
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    argv = shell_expand(EXAMPLES[runner])
    assert argv[argv.index("--extra_package") + 1] == "dist/" + wheel.name
    args, beam_args = parse_command_line(build_parser(), argv[1:])
    assert args.runner == runner
    options = make_pipeline(args.runner, args.workers, beam_args).options
    stage_dir = tmp_path / "stage"
    stage_dir.mkdir()
    resources = environments.python_sdk_dependencies(options, str(stage_dir))

    staged = {dst: Path(src) for src, dst, _ in Stager.extract_staging_tuple_iter(resources)}
    assert wheel.name in staged, f"gristmill is not staged for {runner}: {sorted(staged)}"
    assert staged[wheel.name].resolve() == wheel.resolve()
    assert staged["extra_packages.txt"].read_text().split() == [wheel.name]


def test_wheel_is_pure_python_with_the_command(gristmill_wheel):
    """Any worker can install it (py3-none-any) and gets the ``gristmill`` entry point."""
    assert gristmill_wheel.name.endswith("-py3-none-any.whl")
    with zipfile.ZipFile(gristmill_wheel) as z:
        names = z.namelist()
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert "gristmill = gristmill.cli:main" in z.read(entry_points).decode()
    assert "gristmill/cli/__init__.py" in names and "gristmill/pipelines/run.py" in names
    assert "gristmill/configs/default.yaml" in names  # package data: no repo paths at run time
