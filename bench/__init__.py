"""Throughput and memory benchmark of the engine's hot path against a raw-SQL baseline (`make bench`).

Not part of the test suite: it measures, it does not assert (unless `--check` is given). See `bench.__main__`.
"""
