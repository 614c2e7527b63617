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
