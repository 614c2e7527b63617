"""pandera (polars) schemas for every stage: raw, staging, core, marts."""
