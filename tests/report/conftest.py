"""Fixtures of the report tests: one small real run, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_runs import make_run


@pytest.fixture(scope="session")
def run_dir(demo_dir, tmp_path_factory) -> Path:
    """A run of ~650 real demo documents (plus planted copies and a malformed line)."""
    return make_run(demo_dir, tmp_path_factory.mktemp("report_run"))
