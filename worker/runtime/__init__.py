"""The Celery runtime: the app and its beat schedule, what its tasks run with, bounded runs, the
hand-off after commit, and the metrics endpoint."""
