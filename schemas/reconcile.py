"""Reconcile: claims, rules, conflicts, decisions, verdicts and sum checks (list columns are checked by
dataframe checks; pandera types only their scalar columns)."""

import pandera.polars as pa
import polars as pl


def _within(value: str, low: str = "low", high: str = "high") -> pl.Expr:
    return pl.col(value).is_null() | ((pl.col(low) <= pl.col(value)) & (pl.col(value) <= pl.col(high)))


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
    """Minimal sets of claims that cannot all be true, each with a positive gap and at least two claims."""

    conflict_id: int = pa.Field(unique=True, ge=1)
    indicator: str
    region: str
    period: str
    gap: float = pa.Field(gt=0)
    within_one_source: bool
    in_latest_figures: bool

    class Config:
        name = "reconcile.conflicts"

    @pa.dataframe_check(error="a conflict names at least one claim and one cause")
    def names_claims_and_causes(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(((pl.col("claim_ids").list.len() >= 1)
                                      & (pl.col("causes").list.len() >= 1)).alias("ok"))


class Decisions(pa.DataFrameModel):
    """One decision per quantity shown, its value inside the feasible interval, with a sentence."""

    indicator: str
    region: str
    period: str
    value: float = pa.Field(nullable=True)
    low: float = pa.Field(nullable=True)
    high: float = pa.Field(nullable=True)
    chosen_claim: str = pa.Field(nullable=True)
    sentence: str

    class Config:
        name = "reconcile.decisions"
        unique = ["indicator", "region", "period"]

    @pa.dataframe_check(error="low <= value <= high")
    def value_in_interval(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(_within("value").alias("ok"))


class Verdicts(pa.DataFrameModel):
    """A verdict per published claim, with the sentence that explains it."""

    claim_id: str = pa.Field(unique=True)
    indicator: str
    region: str
    period: str
    stated: float
    verdict: str = pa.Field(isin=["supported", "contradicted", "unverifiable"])
    sentence: str
    document: str

    class Config:
        name = "reconcile.verdicts"


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
    def difference_is_parts_minus_total(cls, data) -> pl.LazyFrame:
        gap = (pl.col("difference") - (pl.col("parts_sum") - pl.col("total"))).abs()
        return data.lazyframe.select((gap <= 1e-6 * pl.max_horizontal(pl.lit(1.0), pl.col("total").abs()))
                                     .alias("ok"))
