"""gristmill.data."""
