"""gristmill.pipelines."""
