"""Document filters: plain Python objects, testable without Beam.

``create(name, **params)`` builds a registered filter; ``available()`` lists them.
Importing this package registers the built-in filters.
"""

from gristmill.filters.base import Filter, Verdict, available, create, instance_name, register  # noqa: I001
from gristmill.filters import word_count  # noqa: F401  (registers word_count)
from gristmill.filters import c4, fineweb, gopher_quality, gopher_repetition  # noqa: F401
from gristmill.filters import special_characters  # noqa: F401  (heuristic quality filters)
from gristmill.filters import fasttext_filter, language  # noqa: F401  (classifier filters)

__all__ = ["Filter", "Verdict", "available", "create", "instance_name", "register"]
