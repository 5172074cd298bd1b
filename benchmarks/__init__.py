"""Ratio benchmarks: every figure is measured against a baseline taken in the same run (see README.md)."""
