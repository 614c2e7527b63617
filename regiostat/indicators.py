"""The indicator catalogue (config/indicators.toml) and how each indicator is read from the facts."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

DEFAULT_INDICATORS = Path(__file__).resolve().parents[1] / "config" / "indicators.toml"
AGGREGATIONS = ("sum", "ratio_of_sums", "not_aggregable")

INDICATOR_VALUE_SCHEMA = {
    "indicator": pl.String, "region_code": pl.String, "year": pl.Int64, "value": pl.Float64,
    "source_table": pl.String, "period_status": pl.String, "vintage": pl.String, "source_file": pl.String,
}
LISA_SCHEMA = {"region_code": pl.String, "year": pl.Int64, "measure": pl.String, "sector": pl.String,
               "sbi_section": pl.String, "value": pl.Float64, "source_file": pl.String, "source_row": pl.Int64,
               "fetch_id": pl.String, "attribution": pl.String}


class IndicatorConfigError(ValueError):
    """config/indicators.toml is malformed; the message names the indicator and field."""


@dataclass(frozen=True)
class Source:
    table: str
    measure: str
    dimensions: dict[str, str] = field(default_factory=dict)
    sum_over: dict[str, list[str]] = field(default_factory=dict)
    sbi_section: str | None = None


@dataclass(frozen=True)
class Indicator:
    code: str
    name_nl: str
    name_en: str
    unit: str
    definition: str
    aggregation: str
    sources: tuple[Source, ...] = ()
    numerator: str | None = None
    denominator: tuple[str, ...] = ()
    scale: float = 1.0

    @property
    def rule(self) -> str:
        if self.aggregation == "ratio_of_sums":
            return f"ratio of sums: {self.numerator} / ({' + '.join(self.denominator)}) x {self.scale:g}"
        return self.aggregation.replace("_", " ")


def load_indicators(path: Path | str = DEFAULT_INDICATORS) -> dict[str, Indicator]:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise IndicatorConfigError(f"{path}: not valid TOML: {exc}") from exc
    out: dict[str, Indicator] = {}
    for n, raw in enumerate(data.get("indicator", []), start=1):
        code = raw.get("code")
        where = f"{path}: indicator {code!r}" if code else f"{path}: [[indicator]] #{n}"
        missing = [f for f in ("code", "name_nl", "name_en", "unit", "definition", "aggregation") if not raw.get(f)]
        if missing:
            raise IndicatorConfigError(f"{where}: missing {', '.join(missing)}")
        if code in out:
            raise IndicatorConfigError(f"{where}: code is used twice")
        if raw["aggregation"] not in AGGREGATIONS:
            raise IndicatorConfigError(f"{where}: aggregation must be one of {AGGREGATIONS}")
        denominator = raw.get("denominator", ())
        denominator = (denominator,) if isinstance(denominator, str) else tuple(denominator)
        if raw["aggregation"] == "ratio_of_sums" and not (raw.get("numerator") and denominator):
            raise IndicatorConfigError(f"{where}: ratio_of_sums needs numerator and denominator")
        if raw["aggregation"] != "ratio_of_sums" and not raw.get("sources"):
            raise IndicatorConfigError(f"{where}: needs at least one source")
        sources = tuple(Source(table=s["table"], measure=s["measure"], dimensions=dict(s.get("dimensions", {})),
                               sum_over={k: list(v) for k, v in s.get("sum_over", {}).items()},
                               sbi_section=s.get("sbi_section"))
                        for s in raw.get("sources", []))
        out[code] = Indicator(code=code, name_nl=raw["name_nl"], name_en=raw["name_en"], unit=raw["unit"],
                              definition=raw["definition"], aggregation=raw["aggregation"], sources=sources,
                              numerator=raw.get("numerator"), denominator=denominator,
                              scale=float(raw.get("scale", 1)))
    for ind in out.values():
        for ref in [ind.numerator, *ind.denominator] if ind.aggregation == "ratio_of_sums" else []:
            if ref not in out:
                raise IndicatorConfigError(f"{path}: indicator {ind.code!r}: refers to unknown indicator {ref!r}")
    return out


def catalogue_frame(indicators: dict[str, Indicator]) -> pl.DataFrame:
    return pl.DataFrame([dict(code=i.code, name_nl=i.name_nl, name_en=i.name_en, unit=i.unit,
                              definition=i.definition, aggregation=i.aggregation, rule=i.rule,
                              sources="; ".join(f"{s.table} {s.measure}" for s in i.sources) or None)
                         for i in indicators.values()])


def dimension_filter(source: Source) -> pl.Expr:
    expr = pl.lit(True)
    for dim, code in source.dimensions.items():
        expr = expr & pl.col("dimension_key").str.contains(f"(^|;){dim}={code}(;|$)", literal=False)
    return expr


def source_rows(source: Source, facts: pl.DataFrame, lisa: pl.DataFrame) -> pl.DataFrame:
    """The rows one source reads, not aggregated: the LISA observations of its measure (and SBI section),
    or the yearly CBS facts of its table, measure and dimensions (and sum_over codes). Null values stay."""
    if source.table == "LISA":
        rows = lisa.filter(pl.col("measure") == source.measure)
        if source.sbi_section:
            rows = rows.filter(pl.col("sbi_section") == source.sbi_section)
        return rows
    rows = facts.filter(pl.col("table_id") == source.table, pl.col("measure_id") == source.measure,
                        dimension_filter(source), pl.col("period_type") == "jaar")
    for dim, codes in source.sum_over.items():
        pattern = f"(^|;){dim}=({'|'.join(codes)})(;|$)"
        rows = rows.filter(pl.col("dimension_key").str.contains(pattern))
    return rows


def source_values(indicator: Indicator, source: Source, facts: pl.DataFrame, lisa: pl.DataFrame) -> pl.DataFrame:
    """One indicator's yearly values from one source (CBS facts or LISA observations)."""
    rows = source_rows(source, facts, lisa)
    if source.table == "LISA":
        out = rows.group_by("region_code", "year").agg(pl.col("value").sum(), pl.col("source_file").first())
        return out.select(pl.lit(indicator.code).alias("indicator"), "region_code", "year", "value",
                          pl.lit("LISA").alias("source_table"), pl.lit(None, pl.String).alias("period_status"),
                          pl.lit(None, pl.String).alias("vintage"), "source_file")
    if source.sum_over:
        expected = len(next(iter(source.sum_over.values())))
        rows = (rows.group_by("region_code", "year")
                .agg(pl.col("value").sum(), pl.col("value").is_not_null().sum().alias("n"),
                     pl.col("period_status").min(), pl.col("vintage").max())
                .filter(pl.col("n") == expected).drop("n"))  # never a partial sum
    return rows.filter(pl.col("value").is_not_null()).select(
        pl.lit(indicator.code).alias("indicator"), "region_code", "year", "value",
        pl.lit(source.table).alias("source_table"), "period_status", "vintage",
        pl.lit(None, pl.String).alias("source_file"))


def indicator_values(indicators: dict[str, Indicator], facts: pl.DataFrame, lisa: pl.DataFrame) -> pl.DataFrame:
    """Published values of every source-backed indicator; the first source with a value wins per region-year."""
    frames = []
    for ind in indicators.values():
        for rank, source in enumerate(ind.sources):
            frames.append(source_values(ind, source, facts, lisa).with_columns(pl.lit(rank).alias("_rank")))
    if not frames:
        return pl.DataFrame(schema=INDICATOR_VALUE_SCHEMA)
    return (pl.concat([f.cast(INDICATOR_VALUE_SCHEMA | {"_rank": pl.Int32}) for f in frames])
            .sort("_rank").unique(["indicator", "region_code", "year"], keep="first", maintain_order=True)
            .drop("_rank").sort(["indicator", "region_code", "year"]))
