"""A light command line (issue 13): declaring the commands imports no heavy library, and a core
install without torch runs everything but the trainer, whose commands say what to install.

Torch is made missing in a child process by a ``sitecustomize`` whose import hook refuses
``torch`` and ``safetensors`` as an uninstalled package would (``ModuleNotFoundError``), so the
real ``gristmill`` script runs as it would after ``pip install gristmill``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

# The installed console script (what a user runs); `python -m gristmill.cli` without one.
SCRIPT = Path(sys.executable).with_name("gristmill")
GRISTMILL = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "gristmill.cli"]

HEAVY = ("torch", "matplotlib", "apache_beam")
# Not needed to declare commands either (they cost 0.1-0.5 s each to import).
ALSO_NOT_FOR_DECLARING = ("pyarrow", "numpy", "pydantic", "rich", "scipy", "datasketch", "tiktoken",
                          "tokenizers", "fasttext", "yaml")

NO_TRAIN_EXTRA = '''
import sys

class _NotInstalled:
    """Refuse the train extra's packages as if they were not installed."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "safetensors"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _NotInstalled())
'''
INSTALL_HINT = "pip install 'gristmill[train]'"


def _run(args: list[str], env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*GRISTMILL, *args], capture_output=True, text=True, timeout=300,
                          env=env, cwd=cwd)


def _top_level_imports(args: list[str]) -> set[str]:
    """The top-level packages a command imports, from ``-X importtime`` (PYTHONPROFILEIMPORTTIME)."""
    proc = _run(args, env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("import time:")]
    assert len(lines) > 50, "no import timing: was PYTHONPROFILEIMPORTTIME honoured?"
    return {ln.rsplit("|", 1)[1].strip().split(".")[0] for ln in lines[1:]}


@pytest.mark.parametrize("args", [["--help"], ["filters", "list"], ["run", "--help"],
                                  ["train", "--help"], ["report", "--help"],
                                  ["tokenize", "--help"], ["classifier", "train", "--help"]])
def test_declaring_commands_imports_nothing_heavy(args):
    imported = _top_level_imports(args)
    assert "gristmill" in imported
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))
    # `train --help` lists the trainer's settings, read from its pydantic config models (every
    # other command declares the train flags lazily and never imports them).
    light = set(ALSO_NOT_FOR_DECLARING) - ({"pydantic"} if args == ["train", "--help"] else set())
    assert not imported & light, sorted(imported & light)


@pytest.fixture()
def no_train_extra(tmp_path) -> dict:
    """The environment of a core install: `import torch` fails as if torch were not installed."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(NO_TRAIN_EXTRA)
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path}


def test_the_hook_makes_torch_missing(no_train_extra):
    proc = subprocess.run([sys.executable, "-c", "import torch"], capture_output=True, text=True,
                          env=no_train_extra)
    assert proc.returncode == 1 and "ModuleNotFoundError: No module named 'torch'" in proc.stderr


@pytest.mark.parametrize(("command", "args"), [
    ("train", ["--input", "shards", "--output", "run", "--max-steps", "3"]),
    ("sample", ["--input", "run", "--prompt", "KING HENRY:"]),
    ("export-hf", ["--input", "run", "--output", "hf"]),
    ("train", ["--data", "shards", "--out", "run"]),  # the old flag names too
])
def test_training_commands_without_torch_say_what_to_install(no_train_extra, tmp_path, command, args):
    proc = _run([command, *args], env=no_train_extra, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert lines == [f"gristmill: error: `gristmill {command}` needs torch, which is not installed "
                     f"(No module named 'torch'); install the trainer with: {INSTALL_HINT}"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]  # nothing written


def test_help_of_training_commands_works_without_torch(no_train_extra):
    proc = _run(["train", "--help"], env=no_train_extra)
    assert proc.returncode == 0, proc.stderr
    assert "--input SHARDS_DIR" in proc.stdout and "--n-layer" in proc.stdout


def test_pipeline_and_report_run_without_torch(no_train_extra, demo_dir, tmp_path):
    """The core install's product: a pipeline run on real text and its report, no torch."""
    sms = tmp_path / "sms.jsonl"
    sms.write_bytes(b"".join((demo_dir / "corpus" / "sms_spam.jsonl").read_bytes()
                             .splitlines(keepends=True)[:200]))
    config = tmp_path / "c.yaml"
    config.write_text("filters:\n  - name: word_count\n    params: {min_words: 5}\n")
    out = tmp_path / "run"
    proc = _run(["run", "--input", str(sms), "--output", str(out), "--config", str(config)],
                env=no_train_extra)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["input_records"] == 200 and summary["balanced"]
    rejected = summary["by_filter"]["word_count"]["word_count.too_few_words"]
    assert rejected > 0
    proc = _run(["report", str(out)], env=no_train_extra)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert re.search(rf"word_count\.words < 5 +│ +{rejected} │", proc.stdout), proc.stdout
