"""How a CBS figure is claimed: the interval its published precision allows.

A CBS figure published as 62.2 "x 1 000" with 1 decimal claims [62150, 62250]: the interval is half
a unit of the last published digit, multiplied out. Every vintage in staging becomes its own claim,
so the engine sees revisions and decides for the latest definitief figure.

Some StatLine downloads print large figures to four significant digits: in the 2018 70072NED
download every value of 1 000 or more (in thousands, 1 decimal) is whole ("7846.0"), while the 2019
download has fractions on 31 of its 33 such values. Where a fetch shows that pattern (at least
MIN_EVIDENCE large values, none with a fraction) its large values claim +-0.5 of the published unit.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from regiostat.sources.protocol import ClaimBasis

MIN_EVIDENCE = 5
EVIDENCE_SQL = "decimals >= 1 AND abs(value_published) >= 1000"  # the rows four_digit_fetches looks at, in SQL


def four_digit_fetches(staged: pl.DataFrame) -> set[str]:
    """Fetches whose values >= 1000 (published unit, decimals >= 1) are all whole: printed to 4 digits."""
    big = staged.filter(pl.col("decimals") >= 1, pl.col("value_published").abs() >= 1000)
    stats = big.group_by("fetch_id").agg(pl.len().alias("n"),
                                         (pl.col("value_published") != pl.col("value_published").round(0)).sum()
                                         .alias("with_fraction"))
    return set(stats.filter(pl.col("n") >= MIN_EVIDENCE, pl.col("with_fraction") == 0)["fetch_id"])


def claim_basis(staged: pl.DataFrame) -> Callable[[dict], ClaimBasis]:
    """How each staged CBS row (with its year) is claimed; ``staged`` shows which downloads print 4 digits."""
    coarse = four_digit_fetches(staged)

    def basis(r: dict) -> ClaimBasis:
        four_digits = r["fetch_id"] in coarse and abs(r["value_published"]) >= 1000
        decimals = 0 if four_digits else (r["decimals"] or 0)
        half = 0.5 * 10 ** -decimals * (r["scale_factor"] or 1)
        return ClaimBasis(
            half_width=half,
            precision=f"{r['unit']}, " + ("4 significant digits in this download" if four_digits
                                          else f"{r['decimals']} decimal(s)"),
            source=f"CBS {r['table_id']}", location=f"{r['source_path']} row {r['source_row']}",
            vintage=r["as_of"].date().isoformat() if r["as_of"] is not None else None,
            status=r["period_status"], notes=f"{r['measure_id']} {r['dimension_key']}".strip())

    return basis


def _text(expr: pl.Expr) -> pl.Expr:
    """A column as claim_basis's f-strings write it (a missing value reads "None")."""
    return expr.cast(pl.String).fill_null("None")


def claim_columns(staged: pl.DataFrame) -> dict[str, pl.Expr]:
    """claim_basis as polars expressions over the staged CBS rows (the same figures, for millions of rows)."""
    four_digits = pl.col("fetch_id").is_in(sorted(four_digit_fetches(staged))) & (
        pl.col("value_published").abs() >= 1000)
    decimals = pl.when(four_digits).then(0).otherwise(pl.col("decimals").fill_null(0))
    half = 0.5 * pl.lit(10.0).pow(-decimals.cast(pl.Float64)) * pl.col("scale_factor").fill_null(1).cast(pl.Float64)
    precision = pl.concat_str([_text(pl.col("unit")), pl.lit(", "), pl.when(four_digits)
                               .then(pl.lit("4 significant digits in this download"))
                               .otherwise(_text(pl.col("decimals")) + " decimal(s)")])
    return {
        "half_width": half, "precision": precision, "source": "CBS " + pl.col("table_id"),
        "location": pl.concat_str([_text(pl.col("source_path")), pl.lit(" row "), _text(pl.col("source_row"))]),
        "vintage": pl.col("as_of").dt.date().cast(pl.String), "status": pl.col("period_status"),
        "notes": pl.concat_str([_text(pl.col("measure_id")), pl.lit(" "), _text(pl.col("dimension_key"))])
        .str.strip_chars(),
    }
