"""Reconciliation: every figure is a claim; rules relate claims; the engine decides and explains."""
