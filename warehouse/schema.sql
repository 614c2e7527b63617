-- regiostat warehouse schema. Layers follow dbt's convention:
--   raw      rows exactly as landed (codes padded, values as text), one set per feed of every source
--            (a CBS table, the LISA exports, the municipality-COROP lists)
--   staging  typed, trimmed, scaled long observations of every source, every vintage kept
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
    source_kind VARCHAR NOT NULL, landed_seq BIGINT, as_of TIMESTAMP, PRIMARY KEY (table_id, fetch_id)
);
CREATE TABLE IF NOT EXISTS raw.observations (
    table_id VARCHAR NOT NULL, fetch_id VARCHAR NOT NULL, source_path VARCHAR NOT NULL, source_row BIGINT,
    measure_code VARCHAR NOT NULL, region_raw VARCHAR, period_raw VARCHAR, other_dims_raw VARCHAR,
    value_raw VARCHAR, value_attribute_raw VARCHAR, reference_date DATE, attribution VARCHAR
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
    vintage VARCHAR, table_version VARCHAR, table_modified VARCHAR, as_of TIMESTAMP, is_latest BOOLEAN NOT NULL,
    source_kind VARCHAR NOT NULL, reference_date DATE, attribution VARCHAR
);

-- For analysts: the LISA rows in the shape they had before every source shared staging.observations,
-- one row per municipality, year, measure and sector (the latest file's figure), with LISA's reference
-- date (1 April) and attribution. The sector label as written is the title of its code.
CREATE OR REPLACE VIEW staging.lisa_observations AS
SELECT o.region_code, CAST(left(o.period_code, 4) AS BIGINT) AS year, o.measure_id AS measure, c.title AS sector,
       nullif(regexp_extract(o.dimension_key, '(^|;)SbiSection=([^;]*)', 2), '') AS sbi_section, o.value,
       o.origin AS source_file, o.source_row, o.fetch_id, o.reference_date, o.attribution
FROM staging.observations o
LEFT JOIN raw.dimension_codes c
  ON c.table_id = o.table_id AND c.fetch_id = o.fetch_id AND c.dimension = 'Sector'
 AND c.code_raw = regexp_extract(o.dimension_key, '(^|;)Sector=([^;]*)', 2)
WHERE o.source_kind = 'lisa' AND o.is_latest;

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
    source_kind VARCHAR NOT NULL, reference_date DATE, attribution VARCHAR
);
-- One row per (table_id, measure_id, region_code, period_code, dimension_key): the blocking check
-- fact_observation_schema proves it over every row (a GROUP BY), not an index, which would have to sit in
-- memory whole for a national table.

CREATE TABLE IF NOT EXISTS core.region_parent (
    region_code VARCHAR NOT NULL, parent_level VARCHAR NOT NULL, parent_code VARCHAR NOT NULL,
    valid_from_year BIGINT, valid_to_year BIGINT, snapshot_years VARCHAR, source VARCHAR
);
CREATE TABLE IF NOT EXISTS core.boundary_change (
    date DATE NOT NULL, from_code VARCHAR NOT NULL, from_name VARCHAR, to_code VARCHAR NOT NULL, to_name VARCHAR,
    kind VARCHAR NOT NULL, hectares DOUBLE, dwellings BIGINT, inhabitants BIGINT, described_at VARCHAR, text VARCHAR,
    n_sources BIGINT
);
-- live_wiring: "live wiring unverified against a recorded response" where no recorded response of the
-- table's shape was ever read (keys from published metadata or public code, tested on generated data).
CREATE TABLE IF NOT EXISTS core.dim_indicator (
    code VARCHAR PRIMARY KEY, name_nl VARCHAR, name_en VARCHAR, unit VARCHAR, definition VARCHAR,
    aggregation VARCHAR, rule VARCHAR, sources VARCHAR, live_wiring VARCHAR
);
-- member_set: 'members' (the region's own list) or the level of another list of the same territory
-- (members_by_level, e.g. 'corop' for Oost-Nederland); valid_from_year / valid_to_year: the years a member
-- belongs to the region, both inclusive, null = open-ended.
CREATE TABLE IF NOT EXISTS core.custom_region (
    region_id VARCHAR NOT NULL, name VARCHAR, member_code VARCHAR NOT NULL, description VARCHAR,
    member_set VARCHAR NOT NULL, valid_from_year BIGINT, valid_to_year BIGINT
);

CREATE TABLE IF NOT EXISTS meta.build_info (
    build_id VARCHAR, built_at TIMESTAMP, schema_version INTEGER, mode VARCHAR, landing_root VARCHAR
);
-- What each layer's rows of each source table were last built from (regiostat/model/state.py): a refresh
-- rebuilds only the tables whose inputs changed.
CREATE TABLE IF NOT EXISTS meta.layer_state (
    layer VARCHAR NOT NULL, table_id VARCHAR NOT NULL, fingerprint VARCHAR NOT NULL, PRIMARY KEY (layer, table_id)
);

-- What was known on a given date: the newest vintage of every observation whose source date
-- (vintage, else table Modified, else fetch time) is on or before d.
--   SELECT * FROM core.observations_as_known_on(DATE '2019-01-01') WHERE ...
CREATE OR REPLACE MACRO core.observations_as_known_on(d) AS TABLE
    SELECT * EXCLUDE (is_latest) FROM staging.observations
    WHERE as_of <= d
    QUALIFY row_number() OVER (PARTITION BY table_id, measure_id, region_code, period_code, dimension_key
                               ORDER BY as_of DESC) = 1;
