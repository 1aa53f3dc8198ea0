"""gristmill.tokenize."""
