"""The comparison harness: tasks, suites, runner, report."""
