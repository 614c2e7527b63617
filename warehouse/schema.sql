-- regiostat warehouse schema. Layers follow dbt's convention:
--   raw      rows exactly as landed (codes padded, values as text), one set per CBS table
--   staging  typed, trimmed, scaled long observations, every vintage kept
--   core     dimensions and the fact table (latest vintage per key)
--   marts    analyst-facing tables built from core (warehouse/marts/*.sql, the profile, harmonised series)
--   reconcile  claims, rules, conflicts, decisions and verdicts
--   meta     build information and check results
-- Statements are idempotent: running this file twice changes nothing.

CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS marts;
CREATE SCHEMA IF NOT EXISTS reconcile;
CREATE SCHEMA IF NOT EXISTS meta;

CREATE TABLE IF NOT EXISTS raw.fetches (
    table_id VARCHAR NOT NULL, fetch_id VARCHAR NOT NULL, source_format VARCHAR NOT NULL, origin VARCHAR,
    fetched_at VARCHAR, vintage VARCHAR, table_version VARCHAR, table_modified VARCHAR, rows BIGINT,
    as_of TIMESTAMP, PRIMARY KEY (table_id, fetch_id)
);
CREATE TABLE IF NOT EXISTS raw.observations (
    table_id VARCHAR NOT NULL, fetch_id VARCHAR NOT NULL, source_path VARCHAR NOT NULL, source_row BIGINT,
    measure_code VARCHAR NOT NULL, region_raw VARCHAR, period_raw VARCHAR, other_dims_raw VARCHAR,
    value_raw VARCHAR, value_attribute_raw VARCHAR
);
CREATE TABLE IF NOT EXISTS raw.measures (
    table_id VARCHAR NOT NULL, fetch_id VARCHAR NOT NULL, measure_code VARCHAR NOT NULL, measure_id VARCHAR NOT NULL,
    title VARCHAR, unit VARCHAR, decimals BIGINT, description VARCHAR, metadata_origin VARCHAR
);
CREATE TABLE IF NOT EXISTS raw.dimension_codes (
    table_id VARCHAR NOT NULL, fetch_id VARCHAR NOT NULL, dimension VARCHAR NOT NULL, dimension_kind VARCHAR,
    code_raw VARCHAR NOT NULL, title VARCHAR, description VARCHAR, group_id VARCHAR, status_raw VARCHAR
);

CREATE TABLE IF NOT EXISTS raw.region_memberships (
    table_id VARCHAR NOT NULL, member_code VARCHAR NOT NULL, parent_code VARCHAR NOT NULL, parent_name VARCHAR,
    snapshot_year BIGINT, source VARCHAR
);

CREATE TABLE IF NOT EXISTS staging.observations (
    table_id VARCHAR NOT NULL, measure_id VARCHAR NOT NULL, measure_code VARCHAR NOT NULL,
    region_code VARCHAR NOT NULL, period_code VARCHAR NOT NULL, sector_code VARCHAR, dimension_key VARCHAR NOT NULL,
    value DOUBLE, value_published DOUBLE, unit VARCHAR, scale_factor BIGINT, decimals BIGINT,
    value_attribute VARCHAR NOT NULL, period_status VARCHAR NOT NULL, source_format VARCHAR NOT NULL,
    origin VARCHAR, fetch_id VARCHAR NOT NULL, source_path VARCHAR, source_row BIGINT, fetched_at VARCHAR,
    vintage VARCHAR, table_version VARCHAR, table_modified VARCHAR, as_of TIMESTAMP, is_latest BOOLEAN NOT NULL
);

CREATE TABLE IF NOT EXISTS staging.lisa_observations (
    region_code VARCHAR NOT NULL, year BIGINT NOT NULL, measure VARCHAR NOT NULL, sector VARCHAR, sbi_section VARCHAR,
    value DOUBLE, source_file VARCHAR, source_row BIGINT, fetch_id VARCHAR, reference_date DATE, attribution VARCHAR
);

CREATE TABLE IF NOT EXISTS core.dim_region (
    region_code VARCHAR PRIMARY KEY, region_name VARCHAR, cbs_title VARCHAR, region_level VARCHAR,
    group_id VARCHAR, begin_date DATE, abolished_date DATE, description VARCHAR, source_table VARCHAR
);
CREATE TABLE IF NOT EXISTS core.dim_period (
    period_code VARCHAR PRIMARY KEY, year BIGINT, period_type VARCHAR, period_number BIGINT, title VARCHAR
);
CREATE TABLE IF NOT EXISTS core.dim_measure (
    table_id VARCHAR NOT NULL, measure_id VARCHAR NOT NULL, title VARCHAR, unit VARCHAR, scale_factor BIGINT,
    decimals BIGINT, description VARCHAR, metadata_origin VARCHAR, PRIMARY KEY (table_id, measure_id)
);
CREATE TABLE IF NOT EXISTS core.dim_sector (
    sector_code VARCHAR PRIMARY KEY, sbi_section VARCHAR, title VARCHAR, source_table VARCHAR
);
CREATE TABLE IF NOT EXISTS core.dim_dimension_code (
    table_id VARCHAR NOT NULL, dimension VARCHAR NOT NULL, code VARCHAR NOT NULL, title VARCHAR,
    PRIMARY KEY (table_id, dimension, code)
);
CREATE TABLE IF NOT EXISTS core.dim_source_table (
    table_id VARCHAR PRIMARY KEY, title VARCHAR, fetches BIGINT, latest_vintage VARCHAR, table_version VARCHAR,
    licence VARCHAR
);
CREATE TABLE IF NOT EXISTS core.fact_observation (
    table_id VARCHAR NOT NULL, measure_id VARCHAR NOT NULL, region_code VARCHAR NOT NULL,
    period_code VARCHAR NOT NULL, sector_code VARCHAR, dimension_key VARCHAR NOT NULL,
    value DOUBLE, value_published DOUBLE, unit VARCHAR, scale_factor BIGINT, decimals BIGINT,
    value_attribute VARCHAR NOT NULL, period_status VARCHAR NOT NULL, source_format VARCHAR NOT NULL,
    origin VARCHAR, fetch_id VARCHAR NOT NULL, fetched_at VARCHAR, vintage VARCHAR, table_version VARCHAR,
    PRIMARY KEY (table_id, measure_id, region_code, period_code, dimension_key)
);

CREATE TABLE IF NOT EXISTS core.region_parent (
    region_code VARCHAR NOT NULL, parent_level VARCHAR NOT NULL, parent_code VARCHAR NOT NULL,
    valid_from_year BIGINT, valid_to_year BIGINT, snapshot_years VARCHAR, source VARCHAR
);
CREATE TABLE IF NOT EXISTS core.boundary_change (
    date DATE NOT NULL, from_code VARCHAR NOT NULL, from_name VARCHAR, to_code VARCHAR NOT NULL, to_name VARCHAR,
    kind VARCHAR NOT NULL, hectares DOUBLE, dwellings BIGINT, inhabitants BIGINT, described_at VARCHAR, text VARCHAR,
    n_sources BIGINT
);
CREATE TABLE IF NOT EXISTS core.dim_indicator (
    code VARCHAR PRIMARY KEY, name_nl VARCHAR, name_en VARCHAR, unit VARCHAR, definition VARCHAR,
    aggregation VARCHAR, rule VARCHAR, sources VARCHAR
);
CREATE TABLE IF NOT EXISTS core.custom_region (
    region_id VARCHAR NOT NULL, name VARCHAR, member_code VARCHAR NOT NULL, description VARCHAR
);

CREATE TABLE IF NOT EXISTS meta.build_info (
    build_id VARCHAR, built_at TIMESTAMP, schema_version INTEGER, mode VARCHAR, landing_root VARCHAR
);

-- What was known on a given date: the newest vintage of every observation whose source date
-- (vintage, else table Modified, else fetch time) is on or before d.
--   SELECT * FROM core.observations_as_known_on(DATE '2019-01-01') WHERE ...
CREATE OR REPLACE MACRO core.observations_as_known_on(d) AS TABLE
    SELECT * EXCLUDE (is_latest) FROM staging.observations
    WHERE as_of <= d
    QUALIFY row_number() OVER (PARTITION BY table_id, measure_id, region_code, period_code, dimension_key
                               ORDER BY as_of DESC) = 1;
