"""Fault-injection tests: kill -9, concurrent runs and readers, HTTP faults, hostile input.

Every test records what it injected and what happened in the ``fault_ledger`` fixture; the
session ends with a summary table (tests/faults/conftest.py).
"""
