-- Business establishments (all sectors) per region and year.
-- 81578NED (COROP, a third party's processed extract, stand on 1 January), 81575NED (municipalities,
-- 2026, likewise processed) and 70072NED (provinces 1995-2019, municipalities 2015) cover different
-- regions in the bundled data; where several give a region-year, 81578NED wins, then 81575NED, and
-- source_table says which.
-- inputs: 81578NED, 81575NED, 70072NED
CREATE OR REPLACE TABLE marts.establishments_by_region_year AS
SELECT f.region_code, r.region_name, r.region_level, p.year, f.value AS establishments, f.period_status,
       f.table_id AS source_table, f.vintage
FROM core.fact_observation f
JOIN core.dim_period p USING (period_code)
LEFT JOIN core.dim_region r USING (region_code)
WHERE ((f.table_id IN ('81578NED', '81575NED') AND f.measure_id = 'Vestigingen')
    OR (f.table_id = '70072NED' AND f.measure_id = 'BedrijfsvestigingenTotaal'))
  AND f.value IS NOT NULL AND p.period_type = 'jaar'
QUALIFY row_number() OVER (PARTITION BY f.region_code, p.year
                           ORDER BY CASE f.table_id WHEN '81578NED' THEN 0 WHEN '81575NED' THEN 1 ELSE 2 END) = 1
ORDER BY region_code, year;
