"""Staging -> core: conformed dimensions and the fact table."""

from __future__ import annotations

import duckdb
import polars as pl

from regiostat.codes import REGION_LEVELS, parse_period
from regiostat.model import state
from regiostat.model.observations import GEO_KINDS
from regiostat.regions import boundaries

_TITLE_SUFFIX = r"\s*\((PV|CR|LD|gemeente|AM)\)\s*$"
_SBI_SECTION = r"^([A-U](?:-[A-U])?)\s"


def _latest_codes(codes: pl.DataFrame, fetches: pl.DataFrame) -> pl.DataFrame:
    return (
        codes.join(fetches.select("table_id", "fetch_id", "as_of"), on=["table_id", "fetch_id"], how="left")
        .with_columns(pl.col("code_raw").str.strip_chars().alias("code"),
                      pl.col("title").str.strip_chars().alias("title"))
        .sort("as_of", descending=True, nulls_last=True)
    )


def dim_region(codes: pl.DataFrame, fetches: pl.DataFrame, staged: pl.DataFrame) -> pl.DataFrame:
    """Every region code seen in a code list or an observation; names from the newest code list."""
    geo = _latest_codes(codes.filter(pl.col("dimension_kind").is_in(sorted(GEO_KINDS))), fetches)
    named = geo.unique("code", keep="first", maintain_order=True).select(
        pl.col("code").alias("region_code"),
        pl.col("title").str.replace(_TITLE_SUFFIX, "").alias("region_name"),
        pl.col("title").alias("cbs_title"),
        pl.col("group_id"), pl.col("description"), pl.col("table_id").alias("source_table"),
    )
    seen = staged.select("region_code").unique()
    regions = seen.join(named, on="region_code", how="full", coalesce=True)
    life = region_lifetimes(codes, fetches).select(pl.col("code").alias("region_code"), "begin_date",
                                                    "abolished_date")
    return regions.join(life, on="region_code", how="left").with_columns(
        pl.col("region_code").str.slice(0, 2).replace_strict(REGION_LEVELS, default=None).alias("region_level")
    ).select("region_code", "region_name", "cbs_title", "region_level", "group_id", "begin_date", "abolished_date",
             "description", "source_table").sort("region_code")


def _region_texts(codes: pl.DataFrame, fetches: pl.DataFrame) -> list[tuple[str, str, str]]:
    """(code, title, description) from the newest code list that describes each region."""
    geo = _latest_codes(codes.filter(pl.col("dimension_kind").is_in(sorted(GEO_KINDS)),
                                     pl.col("description").is_not_null()), fetches)
    latest = geo.unique("code", keep="first", maintain_order=True)
    return [(r["code"], r["title"] or "", r["description"]) for r in latest.iter_rows(named=True)]


def region_lifetimes(codes: pl.DataFrame, fetches: pl.DataFrame) -> pl.DataFrame:
    """Begin and end of each code. A code also ends when it is merged, split up or renamed to a new code,
    even where its own text has no "Opgeheven per" line."""
    texts = _region_texts(codes, fetches)
    parsed = boundaries.parse_descriptions(texts)
    ended = (parsed.changes.filter(pl.col("kind").is_in(["merger", "split", "rename"]))
             .group_by("from_code").agg(pl.col("date").min().alias("_ended")))
    return (parsed.lifetimes.join(ended, left_on="code", right_on="from_code", how="left")
            .with_columns(pl.min_horizontal("abolished_date", "_ended").alias("abolished_date")).drop("_ended"))


def boundary_changes(codes: pl.DataFrame, fetches: pl.DataFrame) -> pl.DataFrame:
    """Every merger, split, transfer and rename CBS describes in the RegioS code list."""
    return boundaries.parse_changes(_region_texts(codes, fetches))


def dim_period(codes: pl.DataFrame, fetches: pl.DataFrame, staged: pl.DataFrame) -> pl.DataFrame:
    """Every period code seen; its title from the newest code list that has it (then by table id: never by the
    order raw rows happen to be in)."""
    dated = codes.filter(pl.col("dimension_kind") == "TimeDimension").join(
        fetches.select("table_id", "fetch_id", "as_of"), on=["table_id", "fetch_id"], how="left")
    titles = (dated.sort(["as_of", "table_id"], descending=[True, False], nulls_last=True, maintain_order=True)
              .with_columns(pl.col("code_raw").str.strip_chars().alias("period_code"))
              .unique("period_code", keep="first", maintain_order=True)
              .select("period_code", pl.col("title").str.strip_chars()))
    all_codes = pl.concat([staged.select("period_code"), titles.select("period_code")]).unique()
    rows = []
    for code in all_codes["period_code"]:
        p = parse_period(code)
        rows.append(dict(period_code=code, year=p.year if p else None, period_type=p.period_type if p else None,
                         period_number=p.number if p else None))
    frame = pl.DataFrame(rows, schema={"period_code": pl.String, "year": pl.Int64, "period_type": pl.String,
                                       "period_number": pl.Int64})
    return frame.join(titles, on="period_code", how="left").sort("period_code")


def dim_measure(measures: pl.DataFrame, fetches: pl.DataFrame, staged: pl.DataFrame) -> pl.DataFrame:
    scale = staged.select("table_id", "measure_id", "scale_factor").unique(["table_id", "measure_id"])
    return (
        measures.join(fetches.select("table_id", "fetch_id", "as_of"), on=["table_id", "fetch_id"], how="left")
        .sort("as_of", descending=True, nulls_last=True)
        .unique(["table_id", "measure_id"], keep="first", maintain_order=True)
        .join(scale, on=["table_id", "measure_id"], how="left")
        .select("table_id", "measure_id", pl.col("title").str.strip_chars(), "unit", "scale_factor", "decimals",
                "description", "metadata_origin")
        .sort(["table_id", "measure_id"])
    )


def dim_sector(codes: pl.DataFrame, fetches: pl.DataFrame, staged: pl.DataFrame) -> pl.DataFrame:
    sbi = _latest_codes(codes.filter(pl.col("dimension") == "BedrijfstakkenBranchesSBI2008"), fetches)
    named = sbi.unique("code", keep="first", maintain_order=True).select(
        pl.col("code").alias("sector_code"),
        pl.col("title").str.extract(_SBI_SECTION).alias("sbi_section"),
        "title", pl.col("table_id").alias("source_table"),
    )
    seen = staged.filter(pl.col("sector_code").is_not_null()).select("sector_code").unique()
    return seen.join(named, on="sector_code", how="full", coalesce=True).sort("sector_code")


def dim_dimension_code(codes: pl.DataFrame, fetches: pl.DataFrame) -> pl.DataFrame:
    """Titles of every other dimension's codes, per table (Geslacht, Leeftijd, Bedrijfsgrootte, ...)."""
    return (
        _latest_codes(codes.filter(pl.col("dimension_kind") == "Dimension"), fetches)
        .unique(["table_id", "dimension", "code"], keep="first", maintain_order=True)
        .select("table_id", "dimension", "code", "title").sort(["table_id", "dimension", "code"])
    )


def dim_source_table(fetches: pl.DataFrame, titles: dict[str, str],
                     licences: dict[str, str] | None = None) -> pl.DataFrame:
    return (
        fetches.sort("as_of", descending=True, nulls_last=True)
        .group_by("table_id", maintain_order=True)
        .agg(pl.len().cast(pl.Int64).alias("fetches"), pl.col("vintage").first().alias("latest_vintage"),
             pl.col("table_version").drop_nulls().first().alias("table_version"))
        .with_columns(pl.col("table_id").replace_strict(titles, default=None).alias("title"),
                      pl.col("table_id").replace_strict(licences or {}, default="CC BY 4.0 (Bron: CBS)")
                      .alias("licence"))
        .select("table_id", "title", "fetches", "latest_vintage", "table_version", "licence").sort("table_id")
    )


FACT_COLUMNS = ("table_id", "measure_id", "region_code", "period_code", "sector_code", "dimension_key", "value",
                "value_published", "unit", "scale_factor", "decimals", "value_attribute", "period_status",
                "source_format", "origin", "fetch_id", "fetched_at", "vintage", "table_version", "source_kind",
                "reference_date", "attribution")


def refresh_fact_observation(con: duckdb.DuckDBPyConnection, *, force: bool = False) -> tuple[list[str], list[str]]:
    """core.fact_observation: the latest vintage of every staged observation, copied in DuckDB in one transaction
    for exactly the tables staged again since (every table with ``force``). (tables copied, tables removed)."""
    current = state.recorded(con, state.STAGING)
    before = {} if force else state.recorded(con, state.FACT)
    todo, gone = state.changed(current, before)
    if force:
        gone = sorted({r[0] for r in con.execute("SELECT DISTINCT table_id FROM core.fact_observation").fetchall()}
                      - set(todo))
    columns = ", ".join(FACT_COLUMNS)
    con.execute("BEGIN TRANSACTION")
    try:
        for table_id in [*todo, *gone]:
            con.execute("DELETE FROM core.fact_observation WHERE table_id = ?", [table_id])
        for table_id in todo:
            con.execute(f"INSERT INTO core.fact_observation ({columns}) SELECT {columns} FROM staging.observations "
                        "WHERE is_latest AND table_id = ?", [table_id])
        state.forget(con, state.FACT, gone)
        state.record(con, state.FACT, {t: current[t] for t in todo})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return todo, gone


# What the dimensions need of staging: the distinct values of a few columns (a few thousand rows), never the
# observations themselves.
STAGED_VALUES = {
    "staged_regions": "SELECT DISTINCT region_code FROM staging.observations",
    "staged_periods": "SELECT DISTINCT period_code FROM staging.observations",
    "staged_sectors": "SELECT DISTINCT sector_code FROM staging.observations WHERE sector_code IS NOT NULL",
    "staged_scales": "SELECT DISTINCT table_id, measure_id, scale_factor FROM staging.observations",
}
