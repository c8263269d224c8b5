"""Benchmarks (``make bench``): not part of the test suite, and nothing in them asserts a speed."""
