"""glibc heap settings: set for the workers through the environment, a user's own kept."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from gristmill.pipelines import heap

pytestmark = pytest.mark.skipif(heap._glibc() is None, reason="glibc only (no-ops elsewhere)")


def test_tune_heap_sets_the_workers_environment_and_keeps_the_users(monkeypatch):
    for var in heap.SETTINGS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")  # the user's
    got = heap.tune_heap()
    assert got == {"MALLOC_ARENA_MAX": "4", "MALLOC_TRIM_THRESHOLD_": str(128 << 10),
                   "MALLOC_MMAP_THRESHOLD_": str(1 << 20)}
    assert os.environ["MALLOC_MMAP_THRESHOLD_"] == str(1 << 20)  # a started worker inherits it


def test_trim_heap_returns_freed_memory():
    """Many small blocks freed out of order stay in the heap until trimmed (glibc keeps them
    for reuse); ``trim_heap`` hands them back, so the process's RSS falls."""
    code = """
import sys
sys.path[:0] = sys.argv[1:]
from gristmill.pipelines.heap import trim_heap
def anon():
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon"):
            return int(line.split()[1]) // 1024
blocks = [bytearray(4000) for _ in range(60_000)]  # ~240 MB of small heap blocks
keep = blocks[::64]  # pins a block here and there: the heap top cannot shrink
del blocks
before = anon()
trim_heap()
print(before, anon())
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run([sys.executable, "-c", code, *sys.path], capture_output=True, text=True,
                         env=env, check=True).stdout.split()
    before, after = int(out[0]), int(out[1])
    assert before > 200, before
    assert after < before - 150, (before, after)


def test_a_local_pipeline_applies_the_settings_for_its_workers(monkeypatch):
    """``make_pipeline`` sets them before the runner starts its worker processes."""
    from gristmill.pipelines.beam_util import make_pipeline

    for var in heap.SETTINGS:
        monkeypatch.delenv(var, raising=False)
    make_pipeline(None, 2)
    assert {var: os.environ.get(var) for var in heap.SETTINGS} == {
        var: str(value) for var, (_, value) in heap.SETTINGS.items()}
