"""Municipal series on one year's boundaries: the change table applied to additive counts, and to ratios.

`harmonise` moves one additive series onto the municipal map of 1 January of a target year, using the
boundary changes regiostat.regions.boundaries parses from the CBS RegioS descriptions.
`harmonise_indicators` does it for every additive indicator of the warehouse. Population is converted
with itself as the weight (exact: the stated inhabitants move). Other counts need the giver's
population in the year before a partial transfer; where that is not in the warehouse the indicator is
skipped with the reason, never converted on a guess.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from typing import Literal

import polars as pl

WEIGHTS = ("inhabitants", "dwellings")
METHOD_OF_KIND = {"merger": "merger_sum", "rename": "renamed", "split": "split_weighted",
                  "transfer": "transfer_weighted"}
_METHOD_ORDER = ("merger_sum", "renamed", "split_weighted", "transfer_weighted")
_RATIO_UNIT = re.compile(r"%|‰|promille|^\s*per\b", re.IGNORECASE)

SERIES_SCHEMA = {
    "indicator": pl.String, "boundary_year": pl.Int64, "region_code": pl.String, "year": pl.Int64,
    "value": pl.Float64, "converted": pl.Boolean, "method": pl.String, "weight": pl.Float64,
    "contributors": pl.String,
}
CONTRIBUTION_SCHEMA = {
    "indicator": pl.String, "boundary_year": pl.Int64, "region_code": pl.String, "year": pl.Int64,
    "contributor_code": pl.String, "contributor_weight": pl.Float64, "contributed_value": pl.Float64,
}
Totals = dict[tuple[str, int], float]  # (region_code, year) -> the weight quantity on that year's map
State = dict[str, dict[str, list]]  # state[code][source] = [amount, fraction of source's value, methods]


def _guard_additive(frame: pl.DataFrame) -> None:
    """Shares of a percentage are meaningless; ratios must be rebuilt from harmonised parts."""
    if "unit" in frame.columns:
        ratios = sorted({u for u in frame["unit"].drop_nulls().unique() if _RATIO_UNIT.search(u)})
        if ratios:
            raise ValueError(f"harmonise() needs an additive count, got unit {ratios}; harmonise "
                             "numerator and denominator separately with harmonise_ratio()")
    if "is_ratio" in frame.columns and frame["is_ratio"].fill_null(False).any():
        raise ValueError("harmonise() got rows flagged is_ratio; use harmonise_ratio()")


def _check_frame(frame: pl.DataFrame, target_year: int, weight: str) -> None:
    """Refuse what harmonise cannot convert: an unknown weight, a ratio, a non-municipal or backward series."""
    if weight not in WEIGHTS:
        raise ValueError(f"weight must be one of {WEIGHTS}, got {weight!r}")
    _guard_additive(frame)
    missing = {"region_code", "year", "value"} - set(frame.columns)
    if missing:
        raise ValueError(f"frame lacks columns {sorted(missing)}")
    bad = frame.filter(~pl.col("region_code").str.starts_with("GM"))["region_code"].unique().to_list()
    if bad:
        raise ValueError(f"harmonise() handles municipalities (GM) only, got {sorted(bad)[:5]}")
    if frame.filter(pl.col("year") > target_year).height:
        raise ValueError("backwards harmonisation (year > target_year) is not supported")
    if frame.select(pl.struct("region_code", "year").is_duplicated().any()).item():
        raise ValueError("frame has more than one value per (region_code, year)")


def _pre_change_year(when: date) -> int:
    """The last year whose 1 January map does not yet include a change taking effect on ``when``."""
    return when.year - 1 if (when.month, when.day) == (1, 1) else when.year


def _num(value) -> float:
    return float("nan") if value is None else float(value)


def harmonise(frame: pl.DataFrame, changes: pl.DataFrame, *, target_year: int,
              weight: Literal["inhabitants", "dwellings"] = "inhabitants",
              giver_totals: pl.DataFrame | None = None) -> pl.DataFrame:
    """Put an additive municipal series on the municipal map of 1 January ``target_year``.

    Date convention: a figure for year Y is taken to be on the map in force on 1 January Y (how
    CBS publishes yearly regional tables), so a change dated D is already inside year D.year's
    map when D is 1 January. Hence for a row of year Y every change with
    1 January Y < D <= 1 January ``target_year`` is applied, in date order (chains compose);
    a mid-year change (e.g. Amsterdam/Weesp 24-03-2022) is applied to year 2022 figures.

    Mergers and code-changing renames move the whole value. A split (giver abolished, several
    receivers) divides it by the receivers' stated ``weight`` (a part whose weight CBS did not
    state counts as 0; if none is stated, hectares, then equal parts). A partial
    transfer moves ``weight_moved / giver_total``: the giver's total is taken from
    ``giver_totals`` (region_code, year, total: the weight quantity on that year's map, looked up
    for the last year before the change) when given, otherwise from the frame itself: the
    giver's running value at that point. The latter is only right when the frame *is* the weight
    quantity (population with "inhabitants", dwelling stock with "dwellings"); pass
    ``giver_totals`` for anything else. Codes missing from the frame contribute nothing.

    Output: region_code, year, value, method, weight (smallest fraction applied to any
    contributor; 1.0 when all came over whole), contributors, contributor_weights, converted.
    """
    _check_frame(frame, target_year, weight)
    totals = None if giver_totals is None else {
        (r["region_code"], r["year"]): r["total"] for r in giver_totals.iter_rows(named=True)}
    out: list[dict] = []
    for (year,), part in frame.group_by("year"):
        window = changes.filter((pl.col("date") > date(year, 1, 1)) & (pl.col("date") <= date(target_year, 1, 1)))
        values = {r["region_code"]: _num(r["value"]) for r in part.iter_rows(named=True)}
        state: State = {c: {c: [v, 1.0, set()]} for c, v in values.items()}
        for (when,), day in window.sort("date").group_by("date", maintain_order=True):
            _apply_day(state, day, when, weight, totals)
        out += _year_rows(state, year)
    schema = {"region_code": pl.String, "year": frame.schema["year"], "value": pl.Float64,
              "method": pl.String, "weight": pl.Float64, "contributors": pl.List(pl.String),
              "contributor_weights": pl.List(pl.Float64), "converted": pl.Boolean}
    return (pl.DataFrame(out, schema=schema).with_columns(pl.col("value").fill_nan(None))
            .sort("region_code", "year"))


def _year_rows(state: State, year: int) -> list[dict]:
    """One output row per code on the target map: its value, how it was made and from which codes."""
    out = []
    for code, parcels in sorted(state.items()):
        if not parcels:
            continue
        methods = set().union(*(p[2] for p in parcels.values()))
        method = "+".join(m for m in _METHOD_ORDER if m in methods) or "unchanged"
        sources = sorted(parcels)
        out.append({"region_code": code, "year": year, "value": sum(parcels[s][0] for s in sources),
                    "method": method, "weight": min(parcels[s][1] for s in sources),
                    "contributors": sources, "contributor_weights": [parcels[s][1] for s in sources],
                    "converted": method != "unchanged"})
    return out


def _ceased_shares(events: pl.DataFrame, w: list[float]) -> list[float]:
    """A giver that ceases to exist: everything goes, by the stated weight, else area, else equal parts."""
    if sum(w) == 0:
        w = [float(x or 0) for x in events["hectares"].to_list()]
        w = w if sum(w) > 0 else [1.0] * len(w)
    return [x / sum(w) for x in w]


def _transfer_shares(giver: str, parcels: dict[str, list], w: list[float], when: date,
                     totals: Totals | None) -> list[float]:
    """A giver that continues: each receiver gets weight moved / the giver's total before the change."""
    if totals is not None and sum(w) == 0:  # nothing moves: no total needed
        total = 1.0
    elif totals is not None:
        key = (giver, _pre_change_year(when))
        if key not in totals:
            raise ValueError(f"giver_totals lacks {key} needed for a transfer on {when}")
        total = float(totals[key] or 0)
    else:
        total = sum(p[0] for p in parcels.values())
    shares = [min(x / total, 1.0) if total > 0 else 0.0 for x in w]
    return [s / sum(shares) for s in shares] if sum(shares) > 1 else shares


def _apply_day(state: State, day: pl.DataFrame, when: date, weight: str, totals: Totals | None) -> None:
    """Move parcels for all changes of one date, with shares computed on the pre-change map.

    Every giver's parcels are taken off before any arrive, so two municipalities that give to each other on
    the same day move only what they held before it, whatever order the changes are listed in.
    """
    moves: dict[str, list[tuple[str, float, str]]] = defaultdict(list)
    for (giver,), events in day.sort("from_code", "to_code").group_by("from_code", maintain_order=True):
        parcels = state.get(giver)
        if not parcels:
            continue
        w = [float(x or 0) for x in events[weight].to_list()]
        ceases = bool(set(events["kind"]) & {"merger", "rename", "split"})
        shares = _ceased_shares(events, w) if ceases else _transfer_shares(giver, parcels, w, when, totals)
        for receiver, kind, share in zip(events["to_code"], events["kind"], shares, strict=True):
            if share > 0:
                moves[giver].append((receiver, share, METHOD_OF_KIND[kind]))
    taken = {giver: state.pop(giver) for giver in moves}
    for giver, targets in moves.items():
        kept = 1.0 - sum(share for _, share, _ in targets)
        if kept > 1e-12:
            _add_parcels(state.setdefault(giver, {}), taken[giver], kept, "transfer_weighted")
        for receiver, share, method in targets:
            _add_parcels(state.setdefault(receiver, {}), taken[giver], share, method)


def _add_parcels(into: dict[str, list], parcels: dict[str, list], share: float, method: str) -> None:
    """Add ``share`` of every parcel to a code's holdings, remembering how it got there."""
    for source, (amount, fraction, methods) in parcels.items():
        slot = into.setdefault(source, [0.0, 0.0, set()])
        slot[0] += amount * share
        slot[1] += fraction * share
        slot[2] |= methods | {method}


def harmonise_ratio(numerator_frame: pl.DataFrame, denominator_frame: pl.DataFrame, changes: pl.DataFrame,
                    *, target_year: int, weight: Literal["inhabitants", "dwellings"] = "inhabitants",
                    giver_totals: pl.DataFrame | None = None, scale: float = 1.0) -> pl.DataFrame:
    """Harmonise numerator and denominator separately, then divide (times ``scale``, e.g. 100)."""
    kwargs = {"target_year": target_year, "weight": weight, "giver_totals": giver_totals}
    num = harmonise(numerator_frame, changes, **kwargs)
    den = harmonise(denominator_frame, changes, **kwargs)
    joined = num.join(den, on=["region_code", "year"], how="inner", suffix="_den")
    return joined.select(
        "region_code", "year",
        (pl.when(pl.col("value_den") != 0).then(pl.col("value") / pl.col("value_den") * scale)).alias("value"),
        pl.col("value").alias("numerator"), pl.col("value_den").alias("denominator"),
        "method", "method_den", (pl.col("converted") | pl.col("converted_den")).alias("converted"),
    ).sort("region_code", "year")


# --------------------------------------------------------------------------- every indicator of the warehouse

def harmonise_indicators(published: pl.DataFrame, changes: pl.DataFrame, *, additive: list[str],
                         boundary_years: tuple[int, ...], weight: str = "inhabitants",
                         weight_indicator: str = "population", codes: list[str] | None = None,
                         ) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, str]]:
    """published: (indicator, region_code, year, value). Returns series, contributions and skipped reasons.
    ``codes``: harmonise only these of ``additive`` (default all; the weight indicator is read either way)."""
    municipal = published.filter(pl.col("region_code").str.starts_with("GM"), pl.col("indicator").is_in(additive))
    totals = (municipal.filter(pl.col("indicator") == weight_indicator)
              .select("region_code", "year", pl.col("value").alias("total")))
    series, parts, skipped = [], [], {}
    for target in boundary_years:
        for code in additive if codes is None else [c for c in additive if c in codes]:
            frame = municipal.filter(pl.col("indicator") == code, pl.col("year") <= target).select(
                "region_code", "year", "value")
            if frame.is_empty():
                continue
            try:
                out = harmonise(frame, changes, target_year=target, weight=weight,
                                giver_totals=None if code == weight_indicator else totals)
            except ValueError as exc:
                skipped[f"{code} on {target} boundaries"] = str(exc)
                continue
            series.append(out.select(
                pl.lit(code).alias("indicator"), pl.lit(target, pl.Int64).alias("boundary_year"), "region_code",
                pl.col("year").cast(pl.Int64), "value", "converted", "method", "weight",
                pl.col("contributors").list.join(", ").alias("contributors")))
            parts.append(_contributions(out, frame, code, target))
    return (pl.concat(series).cast(SERIES_SCHEMA) if series else pl.DataFrame(schema=SERIES_SCHEMA),
            pl.concat(parts).cast(CONTRIBUTION_SCHEMA) if parts else pl.DataFrame(schema=CONTRIBUTION_SCHEMA),
            skipped)


def _contributions(out: pl.DataFrame, frame: pl.DataFrame, code: str, target: int) -> pl.DataFrame:
    """What each source municipality contributed to each harmonised value (value x weight)."""
    sources = frame.select(pl.col("region_code").alias("contributor_code"), pl.col("year").cast(pl.Int64),
                           pl.col("value").alias("source_value"))
    return (out.select("region_code", pl.col("year").cast(pl.Int64), "contributors", "contributor_weights")
            .explode("contributors", "contributor_weights")
            .rename({"contributors": "contributor_code", "contributor_weights": "contributor_weight"})
            .join(sources, on=["contributor_code", "year"], how="left")
            .select(pl.lit(code).alias("indicator"), pl.lit(target, pl.Int64).alias("boundary_year"),
                    "region_code", "year", "contributor_code", "contributor_weight",
                    (pl.col("source_value").fill_null(0.0) * pl.col("contributor_weight"))
                    .alias("contributed_value")))
