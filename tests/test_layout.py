"""Project layout guards."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_stdlib_tokenize_is_not_shadowed():
    # Run from the repo root, where a top-level tokenize/ would shadow the stdlib module.
    code = "import tokenize, sysconfig; print(tokenize.__file__); print(sysconfig.get_paths()['stdlib'])"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    mod_file, stdlib = out.stdout.split("\n")[:2]
    assert mod_file.startswith(stdlib), mod_file
    assert not (ROOT / "tokenize").exists()


def test_only_pipelines_import_beam_and_only_train_imports_torch():
    src = ROOT / "src" / "gristmill"
    for py in src.rglob("*.py"):
        rel = py.relative_to(src).parts
        text = py.read_text()
        if rel[0] != "pipelines":
            assert "import apache_beam" not in text and "from apache_beam" not in text, py
        if rel[0] != "train":
            assert "import torch" not in text and "from torch" not in text, py


def test_only_the_cli_package_parses_arguments():
    """Core modules expose functions; gristmill.cli alone declares and parses flags."""
    src = ROOT / "src" / "gristmill"
    for py in src.rglob("*.py"):
        if py.relative_to(src).parts[0] != "cli":
            text = py.read_text()
            assert "import argparse" not in text and "from argparse" not in text, py


def test_cli_help_lists_every_subcommand():
    from gristmill.cli import build_parser

    helptext = build_parser().format_help()
    for cmd in ("run", "data"):
        assert cmd in helptext


def test_no_module_shadows_the_standard_library():
    # `python benchmarks/x.py` puts benchmarks/ first on sys.path: a benchmarks/tokenize.py
    # there broke every benchmark (inspect -> tokenize). Same for tests/ and the repo root.
    for folder in (ROOT, ROOT / "benchmarks", ROOT / "tests", ROOT / "src"):
        for py in folder.glob("*.py"):
            assert py.stem not in sys.stdlib_module_names, py
        for d in folder.iterdir():
            # a folder without __init__.py (tests/tokenize/) is only a namespace portion:
            # the import system prefers the stdlib module to it
            if (d / "__init__.py").exists():
                assert d.name not in sys.stdlib_module_names, d
