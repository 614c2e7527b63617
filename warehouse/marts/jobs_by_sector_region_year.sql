-- Employee jobs in December by SBI sector, region and year.
-- 83582NED gives COROP regions; 83583NED gives the national figure (all firm sizes, T001098).
-- Both count "banen van werknemers in december": the same quantity, so they share one mart.
-- inputs: 83582NED, 83583NED
CREATE OR REPLACE TABLE marts.jobs_by_sector_region_year AS
SELECT
    f.region_code, r.region_name, r.region_level, p.year,
    f.sector_code, s.sbi_section, s.title AS sector_title,
    f.value AS employee_jobs, f.value_published AS employee_jobs_published, f.unit AS unit_published,
    f.value_attribute, f.period_status, f.table_id AS source_table, f.table_version, f.vintage
FROM core.fact_observation f
JOIN core.dim_period p USING (period_code)
LEFT JOIN core.dim_region r USING (region_code)
LEFT JOIN core.dim_sector s USING (sector_code)
WHERE f.measure_id = 'BanenVanWerknemersInDecember_1'
  AND f.table_id IN ('83582NED', '83583NED')
  AND (f.table_id <> '83583NED' OR f.dimension_key LIKE 'Bedrijfsgrootte=T001098;%')
  AND p.period_type = 'jaar'
ORDER BY f.region_code, p.year, f.sector_code;

COMMENT ON TABLE marts.jobs_by_sector_region_year IS
    'Employee jobs in December (CBS 83582NED regional, 83583NED national) by SBI sector, region and year';
COMMENT ON COLUMN marts.jobs_by_sector_region_year.region_level IS 'land, provincie, corop or gemeente';
COMMENT ON COLUMN marts.jobs_by_sector_region_year.sector_code IS 'CBS SBI 2008 key, e.g. T001081 = A-U all';
COMMENT ON COLUMN marts.jobs_by_sector_region_year.sbi_section IS 'SBI 2008 section letter(s), e.g. C or B-F';
COMMENT ON COLUMN marts.jobs_by_sector_region_year.employee_jobs IS
    'Jobs multiplied out: published x 1 000, so exact to the published precision of 100';
COMMENT ON COLUMN marts.jobs_by_sector_region_year.employee_jobs_published IS 'The figure as CBS published it';
COMMENT ON COLUMN marts.jobs_by_sector_region_year.unit_published IS 'Unit of the published figure (x 1 000)';
COMMENT ON COLUMN marts.jobs_by_sector_region_year.value_attribute IS
    'None when a value is present; NotAvailable, Confidential or Impossible when CBS gives none';
COMMENT ON COLUMN marts.jobs_by_sector_region_year.period_status IS
    'definitief / voorlopig / nader voorlopig; onbekend when the capture carried no period list';
COMMENT ON COLUMN marts.jobs_by_sector_region_year.source_table IS 'CBS table the row comes from';
