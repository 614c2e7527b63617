#!/bin/sh
# Pool limits live in the instance's storage, not in dagster.yaml: set them once per instance (local or k8s).
#   cbs_requests   landing/cbs steps: CBS tables fetched at the same time, across runs (inside one step the
#                  fetch_concurrency setting, REGIOSTAT_FETCH_CONCURRENCY, default 2, applies too)
#   duckdb_writer  every step that writes the build database: one at a time, or DuckDB refuses the second
set -eu
dagster instance concurrency set cbs_requests "${REGIOSTAT_CBS_REQUESTS:-2}"
dagster instance concurrency set duckdb_writer 1
