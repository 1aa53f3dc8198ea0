"""Document filters: plain Python objects, testable without Beam.

``create(name, **params)`` builds a filter; ``available()`` lists them. The built-in filters
are listed in ``base.BUILTIN_FILTERS`` and imported on first use; ``register`` (or the
``registered`` context manager) adds a filter of your own.
"""

from gristmill.filters.base import (
    Filter,
    Verdict,
    available,
    create,
    instance_name,
    register,
    registered,
    unregister,
)

__all__ = ["Filter", "Verdict", "available", "create", "instance_name", "register", "registered",
           "unregister"]
