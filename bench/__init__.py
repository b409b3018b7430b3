"""Benchmarks of CareBoard's hot pages on a large, generated dataset (see bench/README.md).

`python -m bench.run` (or `make bench`) builds a temporary database, fills it with bench.generate and
prints server times; nothing here is imported by the application or the tests.
"""
