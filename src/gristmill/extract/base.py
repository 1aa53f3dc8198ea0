"""The ``Extractor`` interface: HTML markup in, main text out.

An extractor is plain Python (the Beam stage, ``pipelines/extract.py``, only routes its
results), built once per worker process from the config's ``extract`` section. Each one
declares the options its library really has (``OPTIONS``: gristmill's name -> the value used
when the config leaves it out); the config refuses the others, so a setting never silently
does nothing.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from importlib import metadata as importlib_metadata
from typing import Any, ClassVar


class Extractor(ABC):
    """Turns one HTML page into its main text ("" when it finds none)."""

    name: ClassVar[str]
    package: ClassVar[str | None] = None  # the distribution whose version is recorded
    OPTIONS: ClassVar[dict[str, Any]] = {}  # option -> default

    def __init__(self, **options: Any) -> None:
        unknown = sorted(set(options) - set(self.OPTIONS))
        if unknown:
            raise ValueError(f"extractor {self.name} has no option(s) {', '.join(unknown)}; "
                             f"its options: {', '.join(self.OPTIONS) or 'none'}")
        self.options: dict[str, Any] = {**self.OPTIONS, **options}

    @property
    def version(self) -> str:
        """The library's version (gristmill's own for ``visible``), for the run's ``versions``."""
        from gristmill import __version__

        if self.package is None:
            return __version__
        with contextlib.suppress(importlib_metadata.PackageNotFoundError):
            return importlib_metadata.version(self.package)
        return "unknown"

    @abstractmethod
    def extract(self, markup: str, url: str | None = None) -> str:
        """The main text of ``markup``; "" when the page has none. May raise on pages the
        library cannot handle: the stage turns that into an error record."""

    def describe(self) -> dict[str, Any]:
        """Name, version and effective options: what the run's ``versions`` block records."""
        return {"extractor": self.name, "version": self.version, "options": dict(self.options)}
