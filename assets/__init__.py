"""Dagster assets, one module per warehouse layer: landing -> raw -> staging -> core -> marts -> published."""
