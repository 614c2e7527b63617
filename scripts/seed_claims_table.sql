-- The README's table of the seed plans' claims: verdict and closest real figure, one Markdown row per claim.
-- Run by scripts/readme_seed_claims.py (rewrites the table in README.md) and by tests/test_readme_claims.py
-- (the README must equal this query on the bundled warehouse).
WITH v AS (
    SELECT v.*, i.unit AS unit, c.unit AS closest_unit
    FROM reconcile.verdicts v
    LEFT JOIN core.dim_indicator i ON i.code = replace(v.indicator, 'change:', '')
    LEFT JOIN core.dim_indicator c ON c.code = replace(v.closest_indicator, 'change:', '')
), figure AS (  -- a closest figure in words: value, indicator, regions, year (table)
    SELECT f.claim_id, f.rank, f.indicator,
           CASE WHEN f.value = round(f.value) THEN CAST(CAST(f.value AS BIGINT) AS VARCHAR)
                ELSE CAST(round(f.value, 2) AS VARCHAR) END || CASE WHEN i.unit = '%' THEN '%' ELSE '' END
           || ' ' || f.indicator || ', ' || array_to_string(f.regions, '+') || ', ' || f.period
           || ' (' || array_to_string(f.sources, ', ') || ')' AS words
    FROM reconcile.closest_figures f LEFT JOIN core.dim_indicator i ON i.code = replace(f.indicator, 'change:', '')
), beside AS (  -- up to two more figures of other indicators, as the verdict's sentence names them
    SELECT v.claim_id, string_agg(f.words, '; ' ORDER BY f.rank) AS also
    FROM v JOIN (SELECT *, row_number() OVER (PARTITION BY claim_id, indicator ORDER BY rank) AS nth FROM figure) f
      ON f.claim_id = v.claim_id AND f.indicator <> v.closest_indicator AND f.nth = 1
    WHERE (SELECT count(DISTINCT g.indicator) FROM figure g
           WHERE g.claim_id = f.claim_id AND g.indicator <> v.closest_indicator AND g.rank < f.rank) < 2
    GROUP BY v.claim_id
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
       || ' | ' || coalesce(difference, '—') || ' | ' || coalesce(b.also, '—') || ' |' AS line
FROM shown LEFT JOIN beside b USING (claim_id)
ORDER BY document, claim_id
