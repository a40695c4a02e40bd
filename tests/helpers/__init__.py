"""Helpers shared by the tests and the benchmarks; not part of the package.

Tests import them as ``helpers.<module>`` (pytest puts ``tests/`` on ``sys.path``);
benchmarks put ``tests/`` on ``sys.path`` themselves.
"""
