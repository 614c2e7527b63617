"""Reconcile: claims, rules, conflicts, decisions, verdicts and sum checks (list columns are checked by
dataframe checks; pandera types only their scalar columns)."""

import pandera.polars as pa
import polars as pl

from schemas.rules_sql import row_sql


def _within(value: str, low: str = "low", high: str = "high") -> pl.Expr:
    """value in [low, high], within the engine's tolerance (1e-9 relative: float noise, never a real gap)."""
    slack = 1e-9 * pl.max_horizontal(pl.lit(1.0), pl.col(value).abs())
    return pl.col(value).is_null() | ((pl.col(low) <= pl.col(value) + slack) & (pl.col(value) <= pl.col(high) + slack))


def _at_least_one_sql(expr: str) -> str:
    """``pl.max_horizontal(1.0, abs(expr))`` in SQL: polars skips NaN there, DuckDB's greatest() would return it."""
    return f"greatest(1.0, nullif(abs({expr}), 'NaN'::DOUBLE))"


def _within_sql(value: str, low: str = "low", high: str = "high") -> str:
    """:func:`_within` as SQL over one row."""
    slack = f"1e-9 * {_at_least_one_sql(value)}"
    return f"{value} IS NULL OR ({low} <= {value} + {slack} AND {value} <= {high} + {slack})"


class Candidates(pa.DataFrameModel):
    """Every figure as a claim: one id each, its value inside the interval its precision allows."""

    claim_id: str = pa.Field(unique=True)
    indicator: str
    region: str
    period: str
    value: float
    low: float
    high: float
    precision: str
    source_kind: str = pa.Field(str_matches=r"^[a-z][a-z0-9_]*$")
    source: str

    class Config:
        name = "reconcile.candidates"

    @pa.dataframe_check(error="low <= value <= high")
    @row_sql(_within_sql("value"))
    def value_in_interval(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(_within("value").alias("ok"))


class Rules(pa.DataFrameModel):
    """Grounded rules: one id each, of a known kind."""

    rule_id: str = pa.Field(unique=True)
    template: str
    kind: str = pa.Field(isin=["sum", "ratio", "difference", "band"])
    description: str
    target: str

    class Config:
        name = "reconcile.rules"


class Conflicts(pa.DataFrameModel):
    """Minimal sets of figures that cannot all be true, each with a positive gap; restatements of one figure
    are one figure (``figures`` counts them once, ``claim_ids`` and ``locations`` name every place)."""

    conflict_id: int = pa.Field(unique=True, ge=1)
    indicator: str
    region: str
    period: str
    gap: float = pa.Field(gt=0)
    within_one_source: bool
    in_latest_figures: bool
    figures: int = pa.Field(ge=1)

    class Config:
        name = "reconcile.conflicts"

    @pa.dataframe_check(error="a conflict names at least one claim and one cause")
    @row_sql("len(claim_ids) >= 1 AND len(causes) >= 1")
    def names_claims_and_causes(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(((pl.col("claim_ids").list.len() >= 1)
                                      & (pl.col("causes").list.len() >= 1)).alias("ok"))


class Decisions(pa.DataFrameModel):
    """One decision per quantity shown, with a sentence. The value held is the chosen claim's own stated
    figure: inside its own interval [value_low, value_high], which meets [low, high] (what all kept claims
    allow); inside [low, high] too unless the decision says it holds only at the edge of its rounding."""

    indicator: str
    region: str
    period: str
    value: float = pa.Field(nullable=True)
    value_low: float = pa.Field(nullable=True)
    value_high: float = pa.Field(nullable=True)
    low: float = pa.Field(nullable=True)
    high: float = pa.Field(nullable=True)
    edge_only: bool
    chosen_claim: str = pa.Field(nullable=True)
    sentence: str

    class Config:
        name = "reconcile.decisions"
        unique = ["indicator", "region", "period"]

    @pa.dataframe_check(error="value_low <= value <= value_high")
    @row_sql(_within_sql("value", "value_low", "value_high"))
    def value_in_its_own_interval(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(_within("value", "value_low", "value_high").alias("ok"))

    @pa.dataframe_check(error="the held figure's interval meets what the kept claims allow")
    @row_sql(f"value IS NULL OR (value_low <= high + 1e-9 * {_at_least_one_sql('value')} "
             f"AND low <= value_high + 1e-9 * {_at_least_one_sql('value')})")
    def held_interval_meets_the_feasible_one(cls, data) -> pl.LazyFrame:
        slack = 1e-9 * pl.max_horizontal(pl.lit(1.0), pl.col("value").abs())
        meets = (pl.col("value_low") <= pl.col("high") + slack) & (pl.col("low") <= pl.col("value_high") + slack)
        return data.lazyframe.select((pl.col("value").is_null() | meets).alias("ok"))

    @pa.dataframe_check(error="a figure outside [low, high] is held only at the edge of its rounding")
    @row_sql(f"edge_only OR ({_within_sql('value')})")
    def outside_only_at_the_edge(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("edge_only") | _within("value")).alias("ok"))


class Verdicts(pa.DataFrameModel):
    """A verdict per published claim, with the sentence that explains it and the closest real figure."""

    claim_id: str = pa.Field(unique=True)
    indicator: str
    region: str
    period: str
    stated: float
    verdict: str = pa.Field(isin=["supported", "contradicted", "proxy", "definition", "unverifiable"])
    sentence: str
    document: str
    closest_value: float = pa.Field(nullable=True)
    closest_indicator: str = pa.Field(nullable=True)
    closest_period: str = pa.Field(nullable=True)
    closest_table: str = pa.Field(nullable=True)
    difference: str = pa.Field(nullable=True)

    class Config:
        name = "reconcile.verdicts"

    @pa.dataframe_check(error="a proxy or definition verdict names its closest real figure")
    @row_sql("verdict NOT IN ('proxy', 'definition') OR (closest_value IS NOT NULL AND difference IS NOT NULL)")
    def proxy_and_definition_name_a_figure(cls, data) -> pl.LazyFrame:
        named = pl.col("closest_value").is_not_null() & pl.col("difference").is_not_null()
        return data.lazyframe.select((~pl.col("verdict").is_in(["proxy", "definition"]) | named).alias("ok"))


class ClosestFigures(pa.DataFrameModel):
    """The real figures nearest each published claim, ranked from 1 per claim, each inside its own interval."""

    claim_id: str
    rank: int = pa.Field(ge=1)
    indicator: str
    period: str
    value: float
    low: float
    high: float
    distance: float = pa.Field(ge=0)
    same_definition: bool
    exact_region: bool
    same_year: bool
    consistent: bool
    difference: str

    class Config:
        name = "reconcile.closest_figures"
        unique = ["claim_id", "rank"]

    @pa.dataframe_check(error="low <= value <= high")
    @row_sql(_within_sql("value"))
    def value_in_interval(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(_within("value").alias("ok"))


class SumChecks(pa.DataFrameModel):
    """Parts against totals inside one source: a violation is an excess beyond the rounding allowance."""

    rule_id: str
    template: str
    source: str
    total: float
    parts_sum: float
    difference: float
    rounding_allowance: float = pa.Field(ge=0)
    excess: float = pa.Field(ge=0)
    violation: bool

    class Config:
        name = "reconcile.sum_checks"

    @pa.dataframe_check(error="difference = parts_sum - total")
    @row_sql(f"abs(difference - (parts_sum - total)) <= 1e-6 * {_at_least_one_sql('total')}")
    def difference_is_parts_minus_total(cls, data) -> pl.LazyFrame:
        gap = (pl.col("difference") - (pl.col("parts_sum") - pl.col("total"))).abs()
        return data.lazyframe.select((gap <= 1e-6 * pl.max_horizontal(pl.lit(1.0), pl.col("total").abs()))
                                     .alias("ok"))
