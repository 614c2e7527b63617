"""Warehouse observations become claims automatically: every vintage, with the precision it was published at.

Every source-backed indicator value in staging (all vintages) is a claim. How precisely a figure is
claimed, and under which label, is its source's to say (:meth:`regiostat.sources.protocol.Source.claim_basis`):
e.g. half a unit of the last published digit, multiplied out. Every vintage becomes its own claim,
so the engine sees revisions and decides for the latest definitief figure.

The claims are built as one frame, set-based: a source that offers ``claim_columns`` (polars expressions)
is claimed without a Python call per row, so a national table of millions of rows costs seconds; only the
claims the interval engine needs become Claim objects (claims_of).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping

import polars as pl

from regiostat.codes import REGION_ALIASES
from regiostat.indicators.catalogue import Indicator, Source
from regiostat.indicators.values import source_rows
from regiostat.reconcile.model import Claim, Quantity
from regiostat.sources import registry
from regiostat.sources.protocol import ClaimBasis

CLAIM_COLUMNS = ("claim_id", "indicator", "region", "period", "value", "low", "high", "precision", "source_kind",
                 "source", "location", "quote", "vintage", "status", "notes")
CLAIM_SCHEMA = {k: (pl.Float64 if k in {"value", "low", "high"} else pl.String) for k in CLAIM_COLUMNS}
BASIS_FIELDS = ("half_width", "precision", "source", "location", "vintage", "status", "notes")
_BASIS_SCHEMA = {k: (pl.Float64 if k == "half_width" else pl.String) for k in BASIS_FIELDS}


class _Basis:
    """How one source claims its rows: its expressions (claim_columns) or, failing those, its per-row basis."""

    def __init__(self, plugin, staged: pl.DataFrame) -> None:
        self.plugin = plugin
        columns = getattr(plugin, "claim_columns", None)
        self.exprs: Mapping[str, pl.Expr] | None = columns(staged) if columns is not None else None
        self.per_row: Callable[[dict], ClaimBasis] | None = None if self.exprs else plugin.claim_basis(staged)

    def apply(self, rows: pl.DataFrame) -> pl.DataFrame:
        if self.exprs is not None:
            return rows.with_columns(**{k: self.exprs[k].cast(_BASIS_SCHEMA[k]) for k in BASIS_FIELDS})
        bases = [self.per_row(r) for r in rows.iter_rows(named=True)]  # type: ignore[misc]
        return rows.with_columns(pl.DataFrame({k: [getattr(b, k) for b in bases] for k in BASIS_FIELDS},
                                              schema=_BASIS_SCHEMA))


def _claim_rows(based: pl.DataFrame, indicator: str, plugin, *, summed: bool) -> pl.DataFrame:
    """One claim per row, or (a summed source) per region, year and fetch: the sum of the rows' figures."""
    if summed:
        based = based.group_by("region_code", "year", "fetch_id", maintain_order=True).agg(
            pl.col("value").sum(), pl.col("half_width").sum(), pl.len().alias("n"),
            pl.col("precision").unique().sort().str.join("; ").alias("precisions"),
            pl.col("location").drop_nulls().str.join(", ").alias("locations"),
            pl.col("precision").first(), pl.col("location").first(), pl.col("source").first(),
            pl.col("vintage").first(), pl.col("status").first(), pl.col("notes").first(),
            pl.col("is_latest").all())
        based = based.with_columns(
            pl.when(pl.col("n") > 1).then("sum of " + pl.col("n").cast(pl.String) + " figures: " + pl.col("precisions"))
            .otherwise(pl.col("precision")).alias("precision"),
            pl.when(pl.col("n") > 1).then(pl.when(pl.col("locations") == "").then(None).otherwise(pl.col("locations")))
            .otherwise(pl.col("location")).alias("location"))
    year = pl.col("year").cast(pl.String)
    return based.select(
        pl.concat_str([pl.lit(f"{plugin.name}:{indicator}:"), pl.col("region_code"), pl.lit(":"), year, pl.lit(":"),
                       pl.col("fetch_id")]).alias("claim_id"),
        pl.lit(indicator).alias("indicator"), pl.col("region_code").alias("region"), year.alias("period"),
        pl.col("value"), (pl.col("value") - pl.col("half_width")).alias("low"),
        (pl.col("value") + pl.col("half_width")).alias("high"), "precision",
        pl.lit(plugin.claim_kind).alias("source_kind"), "source", "location", pl.lit(None, pl.String).alias("quote"),
        "vintage", "status", "notes", pl.col("is_latest"))


def _narrowed(source: Source, staged: pl.DataFrame) -> pl.DataFrame:
    """The staged rows with a value that can match `source`: its table and measure, and its dimension codes as
    literal substrings (one lazy pass that copies only what matches; source_rows then applies the exact
    dimension patterns to these few)."""
    keep = (pl.col("table_id") == source.table) & (pl.col("measure_id") == source.measure) \
        & pl.col("value").is_not_null()
    for dim, code in source.dimensions.items():
        keep &= pl.col("dimension_key").str.contains(f"{dim}={code}", literal=True)
    return staged.lazy().filter(keep).collect()


def observation_frame(indicators: dict[str, Indicator], staged: pl.DataFrame) -> pl.DataFrame:
    """Claims for every source-backed indicator value (all vintages) as rows (CLAIM_COLUMNS and ``is_latest``:
    every row of the figure is the latest vintage, what the marts show).

    staged: staging.observations joined with dim_period (year, period_type), rows of every source. A source
    that sums matching rows (``sum_matching``) claims the sum per fetch, its interval the sum of theirs.
    """
    frames = list(observation_batches(indicators, set(staged["source_kind"].unique()),
                                      set(staged["table_id"].unique()), lambda source: [_narrowed(source, staged)],
                                      lambda kind: staged.filter(pl.col("source_kind") == kind)))
    schema = CLAIM_SCHEMA | {"is_latest": pl.Boolean}
    return pl.concat(frames, how="vertical") if frames else pl.DataFrame(schema=schema)


def observation_batches(indicators: Mapping[str, Indicator], kinds: set[str], tables: set[str],
                        rows_of: Callable[[Source], Iterable[pl.DataFrame]],
                        basis_rows: Callable[[str], pl.DataFrame]) -> Iterator[pl.DataFrame]:
    """The claims of observation_frame a piece at a time, in its order, so a national table's claims can be written
    away as they are made. ``rows_of(source)``: the staged rows (with year and period type) that can match the
    source, at least, as one frame or in pieces that each hold every row of their regions (NL00 read as NL01),
    regions ascending; ``basis_rows(kind)``: the staged rows a source kind's claim basis looks at (for
    claim_columns its claim_evidence rows, else every row of the kind)."""
    plugins = {s.name: s for s in registry.sources() if s.name in kinds}
    bases: dict[str, _Basis] = {}
    for ind in indicators.values():
        for source in ind.sources:
            if source.sum_over or source.table not in tables:  # a sum over many codes: claimed through its parts
                continue
            for piece in rows_of(source):
                # sorted, so the claims come out the same whatever order the rows were read in
                rows = source_rows(source, piece).sort("region_code", "year", "fetch_id", "source_row",
                                                       nulls_last=True)
                for kind in rows["source_kind"].unique(maintain_order=True).to_list():
                    if kind not in bases:
                        bases[kind] = _Basis(plugins[kind], basis_rows(kind))
                    based = bases[kind].apply(rows.filter(pl.col("source_kind") == kind))
                    yield _claim_rows(based, ind.code, plugins[kind], summed=source.sum_matching)


def source_condition(source: Source) -> tuple[str, list[str]]:
    """A SQL condition on staging.observations (and its parameters) keeping at least the rows ``source`` can
    match: its table and measure, a value, and its dimension codes as literal substrings (what _narrowed keeps)."""
    sql = "table_id = ? AND measure_id = ? AND value IS NOT NULL" + \
        " AND contains(dimension_key, ?)" * len(source.dimensions)
    return sql, [source.table, source.measure, *(f"{dim}={code}" for dim, code in source.dimensions.items())]


def canonical_region_sql(column: str = "region_code") -> str:
    """SQL for a region code in its one spelling (REGION_ALIASES: NL00 -> NL01), as source_rows writes it."""
    cases = " ".join(f"WHEN '{alias}' THEN '{code}'" for alias, code in REGION_ALIASES.items())
    return f"CASE {column} {cases} ELSE {column} END" if cases else column


def basis_condition(plugin) -> tuple[str, list[str]] | None:
    """A SQL condition on staging.observations (and its parameters) for the rows a source kind's claim basis looks
    at: its claim_evidence rows (claim_columns), every row of the kind (claimed row by row); None when
    claim_columns needs no rows besides the claimed ones."""
    if getattr(plugin, "claim_columns", None) is None:
        return "source_kind = ?", [plugin.name]
    evidence = getattr(plugin, "claim_evidence", None)
    return (f"source_kind = ? AND ({evidence})", [plugin.name]) if evidence is not None else None


def rows_read(indicators: Mapping[str, Indicator]) -> tuple[str, list[str]]:
    """A SQL condition on staging.observations (and its parameters) keeping the rows the claims need: every
    indicator source's table and measure whose dimension key holds its codes (a superset; the exact patterns
    apply later), the rows a source's claim_columns looks at besides (its claim_evidence), and every row of a
    source claimed row by row. At national scale most of a table is read by no indicator: it stays in DuckDB."""
    terms, params = [], []
    for ind in indicators.values():
        for source in ind.sources:
            likes = [f"{dim}={code}" for dim, code in source.dimensions.items()]
            terms.append("(table_id = ? AND measure_id = ?" + " AND dimension_key LIKE ?" * len(likes) + ")")
            params += [source.table, source.measure, *(f"%{x}%" for x in likes)]
    for plugin in registry.sources():
        if getattr(plugin, "claim_columns", None) is None:
            terms.append("source_kind = ?")
            params.append(plugin.name)
        elif (evidence := getattr(plugin, "claim_evidence", None)) is not None:
            terms.append(f"(source_kind = ? AND ({evidence}))")
            params.append(plugin.name)
    return ("(" + " OR ".join(terms) + ")" if terms else "FALSE"), params


def claims_frame(claims: Iterable[Claim]) -> pl.DataFrame:
    return pl.DataFrame([dict(claim_id=c.claim_id, indicator=c.quantity.indicator, region=c.quantity.region,
                              period=c.quantity.period, value=c.value, low=c.low, high=c.high, precision=c.precision,
                              source_kind=c.source_kind, source=c.source, location=c.location, quote=c.quote,
                              vintage=c.vintage, status=c.status, notes=c.notes) for c in claims],
                        schema=CLAIM_SCHEMA)


def claims_of(frame: pl.DataFrame) -> list[Claim]:
    """Claim objects for the rows of a claims frame (only those the interval engine needs)."""
    return [Claim(claim_id=r["claim_id"], quantity=Quantity(r["indicator"], r["region"], r["period"]),
                  value=r["value"], low=r["low"], high=r["high"], precision=r["precision"],
                  source_kind=r["source_kind"], source=r["source"], location=r["location"], quote=r["quote"],
                  vintage=r["vintage"], status=r["status"], notes=r["notes"])
            for r in frame.select(CLAIM_COLUMNS).iter_rows(named=True)]


def observation_claims(indicators: dict[str, Indicator], staged: pl.DataFrame) -> tuple[list[Claim], set[str]]:
    """Claim objects for every source-backed indicator value (all vintages), and the ids of the claims that
    are the latest vintage of their figure. For small sets; the warehouse run works on observation_frame."""
    frame = observation_frame(indicators, staged)
    return claims_of(frame), set(frame.filter(pl.col("is_latest"))["claim_id"])
