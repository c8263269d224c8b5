"""xingtu-worker: the scheduled background worker behind a Xingtu-style creator marketplace."""
