-- One row per region and year with the figures the agencies' plans quote, the change against the
-- previous year and the base year, and the national value beside each. Built on marts.regional_profile,
-- complete values only: an aggregate that misses a member is left out here (it stays, flagged, in the long table).
CREATE OR REPLACE VIEW marts.regional_profile_wide AS
WITH p AS (SELECT region_code, region_name, region_level, year, indicator, value FROM marts.regional_profile
           WHERE is_complete),
wide AS (
    SELECT region_code, any_value(region_name) AS region_name, any_value(region_level) AS region_level, year,
        max(value) FILTER (WHERE indicator = 'cbs_employee_jobs')                 AS cbs_employee_jobs,
        max(value) FILTER (WHERE indicator = 'cbs_employee_jobs_industry_bf')     AS cbs_industry_jobs_bf,
        max(value) FILTER (WHERE indicator = 'cbs_employee_jobs_manufacturing_c') AS cbs_manufacturing_jobs_c,
        max(value) FILTER (WHERE indicator = 'cbs_industry_share_bf')             AS cbs_industry_share_bf_pct,
        max(value) FILTER (WHERE indicator = 'cbs_industry_share_c')              AS cbs_manufacturing_share_c_pct,
        max(value) FILTER (WHERE indicator = 'cbs_industry_share_be')             AS cbs_industry_share_be_pct,
        max(value) FILTER (WHERE indicator = 'cbs_jobs_kerncijfers')              AS cbs_jobs_kerncijfers,
        max(value) FILTER (WHERE indicator = 'cbs_kerncijfers_industry_share_bf') AS cbs_kerncijfers_industry_share_bf_pct,
        max(value) FILTER (WHERE indicator = 'lisa_jobs')                         AS lisa_jobs,
        max(value) FILTER (WHERE indicator = 'lisa_jobs_manufacturing_c')         AS lisa_manufacturing_jobs_c,
        max(value) FILTER (WHERE indicator = 'cbs_establishments')                AS cbs_establishments,
        max(value) FILTER (WHERE indicator = 'lisa_establishments')               AS lisa_establishments,
        max(value) FILTER (WHERE indicator = 'lisa_average_establishment_size')   AS lisa_average_establishment_size,
        max(value) FILTER (WHERE indicator = 'population')                        AS population,
        max(value) FILTER (WHERE indicator = 'bijstand_per_1000_inhabitants')     AS bijstand_per_1000,
        max(value) FILTER (WHERE indicator = 'ao_per_1000_inhabitants')           AS ao_per_1000,
        max(value) FILTER (WHERE indicator = 'ww_per_1000_inhabitants')           AS ww_per_1000,
        max(value) FILTER (WHERE indicator = 'commuting_out_in_ratio')            AS commuting_out_in_ratio
    FROM p GROUP BY region_code, year
)
SELECT
    w.region_code, w.region_name, w.region_level, w.year,
    w.cbs_employee_jobs,
    w.cbs_employee_jobs - lag(w.cbs_employee_jobs) OVER (PARTITION BY w.region_code ORDER BY w.year)
        AS cbs_employee_jobs_change_prev_year,
    w.cbs_employee_jobs - first_value(w.cbs_employee_jobs IGNORE NULLS)
        OVER (PARTITION BY w.region_code ORDER BY w.year ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
        AS cbs_employee_jobs_change_base_year,
    w.cbs_industry_jobs_bf, w.cbs_manufacturing_jobs_c, w.cbs_industry_share_bf_pct, w.cbs_manufacturing_share_c_pct,
    w.cbs_industry_share_be_pct,
    w.cbs_jobs_kerncijfers, w.cbs_kerncijfers_industry_share_bf_pct,
    w.lisa_jobs,
    w.lisa_jobs - lag(w.lisa_jobs) OVER (PARTITION BY w.region_code ORDER BY w.year) AS lisa_jobs_change_prev_year,
    w.lisa_manufacturing_jobs_c, w.cbs_establishments, w.lisa_establishments, w.lisa_average_establishment_size,
    w.population, w.bijstand_per_1000, w.ao_per_1000, w.ww_per_1000, w.commuting_out_in_ratio,
    nl.cbs_employee_jobs AS nl_cbs_employee_jobs, nl.cbs_industry_share_bf_pct AS nl_cbs_industry_share_bf_pct,
    nl.cbs_manufacturing_share_c_pct AS nl_cbs_manufacturing_share_c_pct, nl.lisa_jobs AS nl_lisa_jobs,
    nl.lisa_average_establishment_size AS nl_lisa_average_establishment_size, nl.population AS nl_population,
    nl.bijstand_per_1000 AS nl_bijstand_per_1000, nl.ao_per_1000 AS nl_ao_per_1000, nl.ww_per_1000 AS nl_ww_per_1000
FROM wide w
LEFT JOIN wide nl ON nl.region_code = 'NL01' AND nl.year = w.year;
