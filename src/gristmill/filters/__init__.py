"""Document filters: plain Python objects, testable without Beam.

``create(name, **params)`` builds a registered filter; ``available()`` lists them.
Importing this package registers the built-in filters.
"""

from gristmill.filters.base import Filter, Verdict, available, create, register
from gristmill.filters import word_count  # noqa: F401  (registers word_count)

__all__ = ["Filter", "Verdict", "available", "create", "register"]
