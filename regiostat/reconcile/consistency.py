"""Parts against totals inside one source, every instance listed (not only the violations), set-based.

The engine reports what cannot be true; analysts also want to see what was checked and how close
each sum came, e.g. that 83582NED's SBI sections add up to A-U for every COROP region and year. The
check is one SQL query per sum template over every latest figure (polars' SQL engine on the claims
frame), so a national table is checked whole, without a rule object per region and year.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import polars as pl

from regiostat.reconcile.rules import RuleTemplate

SUM_CHECK_SCHEMA = {
    "rule_id": pl.String, "template": pl.String, "source": pl.String, "region": pl.String, "period": pl.String,
    "total": pl.Float64, "parts_sum": pl.Float64, "difference": pl.Float64, "rounding_allowance": pl.Float64,
    "excess": pl.Float64, "violation": pl.Boolean,
}

# One exhaustive sum template: per source, region and period where the total and every part have a latest figure.
SUM_CHECK_SQL = """
WITH totals AS (
    SELECT source, region, period, value AS total, (high - low) / 2 AS total_half
    FROM latest WHERE indicator = {total}
), parts AS (
    SELECT source, region, period, COUNT(DISTINCT indicator) AS n, SUM(value) AS parts_sum,
           SUM((high - low) / 2) AS parts_half
    FROM latest WHERE indicator IN ({parts})
    GROUP BY source, region, period
)
SELECT CONCAT({template}, '[', t.region, ',', t.period, ']') AS rule_id, {template} AS template,
       t.source, t.region, t.period, t.total, p.parts_sum, p.parts_sum - t.total AS difference,
       t.total_half + p.parts_half AS rounding_allowance
FROM totals t JOIN parts p ON t.source = p.source AND t.region = p.region AND t.period = p.period
WHERE p.n = {n}
"""


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def sum_checks(claims: pl.DataFrame, templates: Sequence[RuleTemplate], *, checked: Iterable[str]) -> pl.DataFrame:
    """For each exhaustive sum template in `checked` and each source, region and period where the total and all
    its parts have a latest figure (`claims`: a claims frame with ``is_latest``): the difference between parts
    and total, and how much of it rounding can explain."""
    latest = (claims.lazy().filter(pl.col("is_latest"), pl.col("source_kind") != "document")
              .unique(["indicator", "region", "period", "source"], keep="last", maintain_order=True))
    context = pl.SQLContext(latest=latest)
    wanted = set(checked)
    frames = []
    for t in templates:
        if not (t.enabled and t.kind == "sum" and t.id in wanted and t.params.get("exhaustive", True)):
            continue
        parts = list(t.params["parts"])
        sql = SUM_CHECK_SQL.format(total=_literal(t.params["total"]), parts=", ".join(map(_literal, parts)),
                                   n=len(parts), template=_literal(t.id))
        frames.append(context.execute(sql))
    if not frames:
        return pl.DataFrame(schema=SUM_CHECK_SCHEMA)
    excess = pl.max_horizontal(pl.lit(0.0), pl.col("difference").abs() - pl.col("rounding_allowance"))
    return (pl.concat(frames).with_columns(excess.alias("excess"))
            .with_columns((pl.col("excess") > 1e-9 * pl.max_horizontal(pl.lit(1.0), pl.col("total").abs()))
                          .alias("violation"))
            .select(list(SUM_CHECK_SCHEMA)).cast(SUM_CHECK_SCHEMA).collect()
            .sort("source", "region", "period", "template"))
