"""Which COROP region, province, landsdeel (and labour-market region) a region belonged to, per year.

CBS states memberships in several places, each a snapshot of one year: the classification
columns of 70072NED (2015), the DimensionGroupId of v4 RegioS codes ("GMPV22": a municipality
in Drenthe, as of the capture), and the 2024 municipality-COROP list. A snapshot holds until
the next one says otherwise; years before the first snapshot borrow it and are flagged.
"""

from __future__ import annotations

import io

import polars as pl

from regiostat.codes import REGION_LEVELS
from regiostat.model.observations import MEMBERSHIP_COLUMNS

PARENT_COLUMNS = {
    "region_code": pl.String, "parent_level": pl.String, "parent_code": pl.String, "valid_from_year": pl.Int64,
    "valid_to_year": pl.Int64, "snapshot_years": pl.String, "source": pl.String,
}
_GROUP = r"^(GM|CR|PV|LD)(PV|CR|LD)\d{2}$"


def memberships_from_code_groups(codes: pl.DataFrame, fetches: pl.DataFrame) -> pl.DataFrame:
    """v4 RegioS DimensionGroupId: 'GMPV22' = municipality in PV22, 'CRPV22' = COROP region in PV22."""
    geo = codes.filter(pl.col("dimension_kind") == "GeoDimension", pl.col("group_id").str.contains(_GROUP))
    return (
        geo.join(fetches.select("table_id", "fetch_id", "as_of"), on=["table_id", "fetch_id"], how="left")
        .select(pl.col("code_raw").str.strip_chars().alias("member_code"),
                pl.col("group_id").str.slice(2).alias("parent_code"),
                pl.lit(None, pl.String).alias("parent_name"),
                pl.col("as_of").dt.year().cast(pl.Int64).alias("snapshot_year"),
                pl.concat_str(pl.col("table_id"), pl.lit(" RegioSCodes DimensionGroupId")).alias("source"))
        .unique(["member_code", "parent_code", "snapshot_year"])
    )


def memberships_from_gemeente_corop(content: bytes, *, snapshot_year: int, source: str) -> pl.DataFrame:
    """The 2024 list: Gemeentecode '0114' and COROP-gebiedcode '08' without their prefixes."""
    df = pl.read_csv(io.BytesIO(content), infer_schema=False)
    missing = {"Gemeentecode", "COROP-gebiedcode", "COROP-gebied"} - set(df.columns)
    if missing:
        raise ValueError(f"{source}: column(s) {sorted(missing)} missing from the municipality-COROP list")
    return df.select(
        ("GM" + pl.col("Gemeentecode").str.zfill(4)).alias("member_code"),
        ("CR" + pl.col("COROP-gebiedcode").str.zfill(2)).alias("parent_code"),
        pl.col("COROP-gebied").alias("parent_name"),
        pl.lit(snapshot_year, pl.Int64).alias("snapshot_year"),
        pl.lit(source).alias("source"),
    ).unique(["member_code", "parent_code"]).select(list(MEMBERSHIP_COLUMNS))


def parent_intervals(memberships: pl.DataFrame) -> pl.DataFrame:
    """Snapshots -> validity intervals per (region, parent level). valid_from_year null = also earlier years."""
    m = memberships.with_columns(
        pl.col("parent_code").str.slice(0, 2).replace_strict(REGION_LEVELS, default=None).alias("parent_level")
    ).filter(pl.col("parent_level").is_not_null(), pl.col("member_code") != pl.col("parent_code"))
    per_year = (m.group_by("member_code", "parent_level", "snapshot_year")
                .agg(pl.col("parent_code").sort().first(), pl.col("source").sort().first())
                .sort("member_code", "parent_level", "snapshot_year"))
    rows = []
    for (member, level), group in per_year.group_by(["member_code", "parent_level"], maintain_order=True):
        runs: list[dict] = []
        for snap in group.iter_rows(named=True):
            if runs and runs[-1]["parent_code"] == snap["parent_code"]:
                runs[-1]["years"].append(snap["snapshot_year"])
                runs[-1]["sources"].add(snap["source"])
            else:
                runs.append(dict(parent_code=snap["parent_code"], start=snap["snapshot_year"],
                                 years=[snap["snapshot_year"]], sources={snap["source"]}))
        for i, run in enumerate(runs):
            rows.append(dict(
                region_code=member, parent_level=level, parent_code=run["parent_code"],
                valid_from_year=None if i == 0 else run["start"],
                valid_to_year=runs[i + 1]["start"] - 1 if i + 1 < len(runs) else None,
                snapshot_years=",".join(str(y) for y in sorted(set(run["years"]))),
                source="; ".join(sorted(run["sources"])),
            ))
    return pl.DataFrame(rows, schema=PARENT_COLUMNS).sort("region_code", "parent_level", "valid_from_year",
                                                          nulls_last=False)


def parents_in_year(intervals: pl.DataFrame, year: int) -> pl.DataFrame:
    """region_code -> parent_code for one year and every parent level."""
    return intervals.filter(
        pl.col("valid_from_year").fill_null(-9999) <= year, pl.col("valid_to_year").fill_null(9999) >= year
    ).select("region_code", "parent_level", "parent_code")
