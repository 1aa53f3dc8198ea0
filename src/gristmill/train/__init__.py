"""gristmill.train."""
