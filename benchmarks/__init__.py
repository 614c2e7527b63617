"""Benchmarks: measuring instruments, not part of the regiostat package (see benchmarks/scale.py)."""
