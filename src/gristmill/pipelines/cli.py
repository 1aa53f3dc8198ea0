"""Subcommands of the pipeline area: run (see gristmill.cli)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add this area's subcommands to the `gristmill` parser."""
