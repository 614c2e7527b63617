-- The README's table of the seed plans' claims: verdict and closest real figure, one Markdown row per claim.
-- Run by scripts/readme_seed_claims.py (rewrites the table in README.md) and by tests/test_readme_claims.py
-- (the README must equal this query on the bundled warehouse).
WITH v AS (
    SELECT v.*, i.unit AS unit, c.unit AS closest_unit
    FROM reconcile.verdicts v
    LEFT JOIN core.dim_indicator i ON i.code = replace(v.indicator, 'change:', '')
    LEFT JOIN core.dim_indicator c ON c.code = replace(v.closest_indicator, 'change:', '')
), shown AS (
    SELECT *,
        CASE WHEN stated = round(stated) THEN CAST(CAST(stated AS BIGINT) AS VARCHAR)
             ELSE CAST(round(stated, 2) AS VARCHAR) END || CASE WHEN unit = '%' THEN '%' ELSE '' END AS stated_shown,
        CASE WHEN closest_value IS NULL THEN NULL
             WHEN closest_value = round(closest_value) THEN CAST(CAST(closest_value AS BIGINT) AS VARCHAR)
             ELSE CAST(round(closest_value, 2) AS VARCHAR) END
            || CASE WHEN closest_unit = '%' THEN '%' ELSE '' END AS closest_shown
    FROM v
)
SELECT '| ' || claim_id || ' | ' || indicator || ' | ' || region || ' | ' || period || ' | ' || stated_shown
       || ' | ' || verdict || ' | '
       || coalesce(closest_shown || ' ' || closest_indicator || ', ' || array_to_string(closest_regions, '+') || ', '
                   || closest_period || ' (' || closest_table || ')', '—')
       || ' | ' || coalesce(difference, '—') || ' |' AS line
FROM shown
ORDER BY document, claim_id
