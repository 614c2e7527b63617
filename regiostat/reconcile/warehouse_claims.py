"""Warehouse observations become claims automatically: every vintage, with the precision it was published at.

A CBS figure published as 62.2 "x 1 000" with 1 decimal claims [62150, 62250]: the interval is half
a unit of the last published digit, multiplied out. LISA publishes counts rounded to tens (all of
the bundled 2017 file ends in 0); a LISA count that ends in 0 claims +-5, any other is exact.
Every vintage in staging becomes its own claim, so the engine sees revisions and decides for the
latest definitief figure.

Some StatLine downloads print large figures to four significant digits: in the 2018 70072NED
download every value of 1 000 or more (in thousands, 1 decimal) is whole ("7846.0"), while the 2019
download has fractions on 31 of its 33 such values. Where a fetch shows that pattern (at least
MIN_EVIDENCE large values, none with a fraction) its large values claim +-0.5 of the published unit.
"""

from __future__ import annotations

import polars as pl

from regiostat.indicators.catalogue import Indicator
from regiostat.indicators.values import source_rows
from regiostat.reconcile.model import Claim, Quantity

MIN_EVIDENCE = 5
CLAIM_COLUMNS = ("claim_id", "indicator", "region", "period", "value", "low", "high", "precision", "source_kind",
                 "source", "location", "quote", "vintage", "status", "notes")


def four_digit_fetches(staged: pl.DataFrame) -> set[str]:
    """Fetches whose values >= 1000 (published unit, decimals >= 1) are all whole: printed to 4 digits."""
    big = staged.filter(pl.col("decimals") >= 1, pl.col("value_published").abs() >= 1000)
    stats = big.group_by("fetch_id").agg(pl.len().alias("n"),
                                         (pl.col("value_published") != pl.col("value_published").round(0)).sum()
                                         .alias("with_fraction"))
    return set(stats.filter(pl.col("n") >= MIN_EVIDENCE, pl.col("with_fraction") == 0)["fetch_id"])


def observation_claims(indicators: dict[str, Indicator], staged: pl.DataFrame,
                       lisa: pl.DataFrame) -> tuple[list[Claim], set[str]]:
    """Claims for every source-backed indicator value (all vintages), and the ids of the claims that
    are the latest vintage of their figure (what the marts show).

    staged: staging.observations joined with dim_period (year, period_type). lisa: staging.lisa_observations.
    """
    claims: list[Claim] = []
    latest: set[str] = set()
    coarse = four_digit_fetches(staged)
    for ind in indicators.values():
        for source in ind.sources:
            if source.sum_over:  # a sum over many codes: claimed through its parts, not as one figure
                continue
            rows = source_rows(source, staged, lisa)
            if source.table == "LISA":
                for r in rows.iter_rows(named=True):
                    rounded = r["value"] % 10 == 0
                    half = 5.0 if rounded else 0.0
                    claim_id = f"lisa:{ind.code}:{r['region_code']}:{r['year']}:{r['fetch_id']}"
                    latest.add(claim_id)  # staging keeps only the newest file's figure
                    claims.append(Claim(
                        claim_id=claim_id,
                        quantity=Quantity(ind.code, r["region_code"], str(r["year"])),
                        value=r["value"], low=r["value"] - half, high=r["value"] + half,
                        precision="rounded to 10" if rounded else "exact count", source_kind="lisa_file",
                        source=f"LISA {r['source_file']}", location=f"row {r['source_row']}",
                        vintage=str(r["year"]), notes=r["attribution"]))
                continue
            for r in rows.filter(pl.col("value").is_not_null()).iter_rows(named=True):
                four_digits = r["fetch_id"] in coarse and abs(r["value_published"]) >= 1000
                decimals = 0 if four_digits else (r["decimals"] or 0)
                half = 0.5 * 10 ** -decimals * (r["scale_factor"] or 1)
                vintage = r["as_of"].date().isoformat() if r["as_of"] is not None else None
                claim_id = f"cbs:{ind.code}:{r['region_code']}:{r['year']}:{r['fetch_id']}"
                if r["is_latest"]:
                    latest.add(claim_id)
                claims.append(Claim(
                    claim_id=claim_id,
                    quantity=Quantity(ind.code, r["region_code"], str(r["year"])),
                    value=r["value"], low=r["value"] - half, high=r["value"] + half,
                    precision=f"{r['unit']}, " + ("4 significant digits in this download" if four_digits
                                                  else f"{r['decimals']} decimal(s)"), source_kind="cbs_table",
                    source=f"CBS {source.table}", location=f"{r['source_path']} row {r['source_row']}",
                    vintage=vintage, status=r["period_status"],
                    notes=f"{source.measure} {r['dimension_key']}".strip()))
    return claims, latest


def claims_frame(claims: list[Claim]) -> pl.DataFrame:
    return pl.DataFrame([dict(claim_id=c.claim_id, indicator=c.quantity.indicator, region=c.quantity.region,
                              period=c.quantity.period, value=c.value, low=c.low, high=c.high, precision=c.precision,
                              source_kind=c.source_kind, source=c.source, location=c.location, quote=c.quote,
                              vintage=c.vintage, status=c.status, notes=c.notes) for c in claims],
                        schema={k: (pl.Float64 if k in {"value", "low", "high"} else pl.String) for k in CLAIM_COLUMNS})
