"""Raw captures -> one long, typed observation model (the staging layer), for every source alike.

One row per table, measure, region, period and other dimension codes, and vintage. Values are kept
twice: as published (62.2 with unit "x 1 000") and multiplied out (62200), so nobody has to
remember which tables are in thousands. ``is_latest`` marks the vintage the marts use: the fetch
whose source date is newest, and of fetches with the same date the one landed last.
"""

from __future__ import annotations

import polars as pl

from regiostat.codes import PERIOD_STATUSES, normalise_status, parse_unit, scaled_decimals

OBSERVATION_KEY = ["table_id", "measure_id", "region_code", "period_code", "dimension_key"]
_NUMBER = r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$"
_SECTOR_DIM = "BedrijfstakkenBranchesSBI2008"


def _clean_dimension_key(expr: pl.Expr) -> pl.Expr:
    """``"Dim=301000 ;Other=x"`` -> ``"Dim=301000;Other=x"`` (v3 keys are right-padded)."""
    return expr.str.replace_all(r"\s+(;|$)", "$1")


def stage_observations(observations: pl.DataFrame, measures: pl.DataFrame, codes: pl.DataFrame,
                       fetches: pl.DataFrame) -> pl.DataFrame:
    """Type, trim, scale and annotate raw observations; mark the latest vintage of each key."""
    units = _measure_units(measures)
    status = period_status(codes, fetches)
    text = pl.col("value_raw").str.strip_chars()
    staged = (
        observations
        .with_columns(
            pl.col("region_raw").str.strip_chars().alias("region_code"),
            pl.col("period_raw").str.strip_chars().alias("period_code"),
            _clean_dimension_key(pl.col("other_dims_raw")).alias("dimension_key"),
            pl.when(text.str.contains(_NUMBER)).then(text.cast(pl.Float64, strict=False)).alias("value_published"),
        )
        .with_columns(
            pl.col("dimension_key").str.extract(rf"{_SECTOR_DIM}=([^;]*)").alias("sector_code"),
            pl.when(pl.col("value_attribute_raw").is_not_null()).then(pl.col("value_attribute_raw"))
            .when(pl.col("value_published").is_not_null()).then(pl.lit("None"))
            .otherwise(pl.lit("NotAvailable")).alias("value_attribute"),
        )
        .join(units, on=["table_id", "fetch_id", "measure_code"], how="left")
        .join(fetches.select("table_id", "fetch_id", "source_kind", "source_format", "origin", "fetched_at",
                             "vintage", "table_version", "table_modified", "as_of", "landed_seq"),
              on=["table_id", "fetch_id"], how="left")
        .join(status, on=["table_id", "period_code"], how="left")
        .with_columns(
            pl.col("period_status").fill_null("onbekend"),
            _multiplied_out(pl.col("value_published"), pl.col("scale_factor"), pl.col("decimals_value")),
        )
    )
    newest_first = staged.sort(["as_of", "landed_seq"], descending=True, nulls_last=True, maintain_order=True)
    latest = pl.int_range(pl.len()).over(OBSERVATION_KEY) == 0
    return newest_first.with_columns(latest.alias("is_latest")).select(
        "table_id", "measure_id", "measure_code", "region_code", "period_code", "sector_code", "dimension_key",
        "value", "value_published", "unit", "scale_factor", "decimals", "value_attribute", "period_status",
        "source_format", "origin", "fetch_id", "source_path", "source_row", "fetched_at", "vintage",
        "table_version", "table_modified", "as_of", "is_latest", "source_kind", "reference_date", "attribution",
    ).sort(["table_id", "measure_id", "region_code", "period_code", "dimension_key", "as_of"], maintain_order=True)


def _multiplied_out(value: pl.Expr, scale: pl.Expr, decimals: pl.Expr) -> pl.Expr:
    """value x scale, rounded to the decimals that stay meaningful (62.2 x 1000 -> 62200, not 62200.000001)."""
    product = value * scale
    expr = product.round(6)
    for d in range(5, -1, -1):
        expr = pl.when(decimals == d).then(product.round(d)).otherwise(expr)
    return expr.alias("value")


def _measure_units(measures: pl.DataFrame) -> pl.DataFrame:
    rows = []
    columns = ("table_id", "fetch_id", "measure_code", "measure_id", "unit", "decimals")
    for m in measures.select(columns).iter_rows(named=True):
        unit = parse_unit(m["unit"])
        rows.append({**m, "unit": unit.published, "scale_factor": unit.scale,
                     "decimals_value": scaled_decimals(m["decimals"], unit.scale)})
    return pl.DataFrame(rows, schema={"table_id": pl.String, "fetch_id": pl.String, "measure_code": pl.String,
                                      "measure_id": pl.String, "unit": pl.String, "decimals": pl.Int64,
                                      "scale_factor": pl.Int64, "decimals_value": pl.Int64})


def period_status(codes: pl.DataFrame, fetches: pl.DataFrame) -> pl.DataFrame:
    """Per table and period, the status from the newest code list that states one."""
    periods = (
        codes.filter(pl.col("dimension_kind") == "TimeDimension", pl.col("status_raw").is_not_null())
        .join(fetches.select("table_id", "fetch_id", "as_of"), on=["table_id", "fetch_id"], how="left")
        .with_columns(pl.col("code_raw").str.strip_chars().alias("period_code"))
        .sort("as_of", descending=True, nulls_last=True)
        .unique(["table_id", "period_code"], keep="first", maintain_order=True)
    )
    return pl.DataFrame(
        {"table_id": periods["table_id"], "period_code": periods["period_code"],
         "period_status": [normalise_status(s) for s in periods["status_raw"]]},
        schema={"table_id": pl.String, "period_code": pl.String, "period_status": pl.Enum(PERIOD_STATUSES)},
    ).with_columns(pl.col("period_status").cast(pl.String))


def fetch_table(entries: list, *, source_kind: str) -> pl.DataFrame:
    """One row per complete fetch (``entries`` in landing order), with the date that orders vintages
    (source date, else fetch date) and its place in the landing order (which breaks ties in that date)."""
    rows = [
        dict(table_id=e.table_id, fetch_id=e.fetch_id, source_format=e.source, origin=e.origin,
             fetched_at=e.fetched_at, vintage=e.vintage, table_version=e.table_version,
             table_modified=e.table_modified, rows=e.rows, source_kind=source_kind, landed_seq=seq)
        for seq, e in enumerate(entries, start=1)
    ]
    return with_as_of(pl.DataFrame(rows, schema={
        "table_id": pl.String, "fetch_id": pl.String, "source_format": pl.String, "origin": pl.String,
        "fetched_at": pl.String, "vintage": pl.String, "table_version": pl.String, "table_modified": pl.String,
        "rows": pl.Int64, "source_kind": pl.String, "landed_seq": pl.Int64}))


def with_as_of(fetches: pl.DataFrame) -> pl.DataFrame:
    """The date that orders vintages: when the source produced it, else when it was modified or fetched."""
    return fetches.with_columns(
        pl.coalesce(_parse_ts(pl.col("vintage")), _parse_ts(pl.col("table_modified")),
                    _parse_ts(pl.col("fetched_at"))).alias("as_of")
    )


def _parse_ts(expr: pl.Expr) -> pl.Expr:
    """ISO strings with or without zone / fraction -> naive UTC-less timestamp (ordering only)."""
    return expr.str.slice(0, 19).str.to_datetime("%Y-%m-%dT%H:%M:%S", strict=False)
