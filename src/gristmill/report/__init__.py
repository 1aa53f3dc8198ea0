"""gristmill.report."""
