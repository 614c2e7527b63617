-- Population on 1 January per region and year.
-- 03759NED is CBS's population table and wins where both it and 70072NED (regional key figures)
-- give a region-year; source_table says which one was used.
-- inputs: 03759NED, 70072NED
CREATE OR REPLACE TABLE marts.population_by_region_year AS
SELECT f.region_code, r.region_name, r.region_level, p.year, f.value AS population, f.period_status,
       f.table_id AS source_table, f.table_version, f.vintage
FROM core.fact_observation f
JOIN core.dim_period p USING (period_code)
LEFT JOIN core.dim_region r USING (region_code)
WHERE ((f.table_id = '03759NED' AND f.measure_id = 'M000352')
    OR (f.table_id = '70072NED' AND f.measure_id = 'TotaleBevolking'))
  AND f.value IS NOT NULL AND p.period_type = 'jaar'
QUALIFY row_number() OVER (PARTITION BY f.region_code, p.year
                           ORDER BY CASE f.table_id WHEN '03759NED' THEN 0 ELSE 1 END) = 1
ORDER BY region_code, year;
