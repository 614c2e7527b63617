"""Indicator wiring across the config files and the landed metadata, checked before figures are trusted.

An indicator is dead wiring when its source names a table no source lands (commuting once pointed at
85481NED, missing from config/tables.toml), a code the table's live filter never fetches (03759NED's
filter once kept only Leeftijd '10000'), or a measure or code the landed metadata of its table does
not have. Each such indicator would come out empty without a word; here it stops the run naming the
file (config/indicators.toml), the indicator, its source and the key. The checks are a table, like the
claims loader's: one function per key, run in order, the first message is reported.

:func:`check_config` loads every config file but the claims files strictly (unknown keys included) and checks the
wiring that needs no data; :func:`check_landed` adds what the landed metadata shows (raw.measures and
raw.dimension_codes: declared measures of a bundled capture, or CBS's own DataProperties / MeasureCodes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from regiostat.configkeys import ConfigError
from regiostat.indicators.catalogue import Indicator, Source, load_indicators
from regiostat.paths import ProjectPaths
from regiostat.reconcile.proxies import load_proxies
from regiostat.reconcile.rules import load_rules
from regiostat.regions.custom import load_region_config
from regiostat.sources import registry
from regiostat.sources.cbs.catalog import load_catalog
from regiostat.sources.cbs.live_filter import LiveFilterError, admits


class WiringError(ConfigError):
    """An indicator reads something that is not there; names the file, the indicator, the source and key."""

    def __init__(self, file: Path | str, entry: str, key: str, message: str) -> None:
        self.file, self.entry, self.key = str(file), entry, key
        super().__init__(f"{file}: {entry}: key {key!r}: {message}")


@dataclass(frozen=True)
class Tables:
    """What the wiring is checked against: every table a source lands, with its live filter, and (once
    landed) the measures and dimension codes its metadata lists."""

    live_filters: Mapping[str, str | None]  # table id -> live_filter (None: none)
    tables_toml: Path
    measures: Mapping[str, frozenset[str]] = field(default_factory=dict)  # table id -> landed measure ids
    codes: Mapping[tuple[str, str], frozenset[str]] = field(default_factory=dict)  # (table, dimension) -> codes


def _codes(source: Source) -> list[tuple[str, str]]:
    """(dimension, code) pairs a source needs the table to hold."""
    pairs = list(source.dimensions.items()) + [(d, c) for d, codes in source.sum_over.items() for c in codes]
    if source.flow is not None:
        pairs += [(source.flow.origin, source.flow.total), (source.flow.destination, source.flow.total)]
    return pairs


def _table_known(source: Source, tables: Tables) -> str | None:
    if source.table in tables.live_filters:
        return None
    return (f"{source.table} is not a table any source lands: not in {tables.tables_toml} (and not LISA or another "
            f"registered source's table)")


def _live_filter_admits(source: Source, tables: Tables) -> str | None:
    live_filter = tables.live_filters.get(source.table)
    try:
        excluded = [f"{d} = '{c}'" for d, c in _codes(source) if not admits(live_filter, d, c)]
    except LiveFilterError as exc:
        return f"the live_filter of {source.table} in {tables.tables_toml} cannot be checked: {exc}"
    if not excluded:
        return None
    shown = ", ".join(excluded[:3]) + (f" and {len(excluded) - 3} more" if len(excluded) > 3 else "")
    return f"{shown} excluded by the live_filter of {source.table} in {tables.tables_toml}: {live_filter!r}"


def _measure_landed(source: Source, tables: Tables) -> str | None:
    landed = tables.measures.get(source.table)
    if not landed or source.measure in landed:
        return None
    return (f"measure {source.measure!r} is not in the landed metadata of {source.table} (it lists "
            f"{', '.join(sorted(landed)[:8])}{', ...' if len(landed) > 8 else ''})")


def _codes_landed(source: Source, tables: Tables) -> str | None:
    missing = [f"{d} = '{c}'" for d, c in _codes(source)
               if tables.codes.get((source.table, d)) and c not in tables.codes[(source.table, d)]]
    return f"{', '.join(missing)} not in the landed code list of {source.table}" if missing else None


# key -> check, in the order they run; the first message of a source is reported
_STATIC: tuple[tuple[str, Callable[[Source, Tables], str | None]], ...] = (
    ("table", _table_known),
    ("dimensions", _live_filter_admits),
)
_LANDED: tuple[tuple[str, Callable[[Source, Tables], str | None]], ...] = (
    ("measure", _measure_landed),
    ("dimensions", _codes_landed),
)


def check_wiring(indicators: Mapping[str, Indicator], tables: Tables, file: Path | str, *,
                 landed: bool = False) -> None:
    """Raise WiringError for the first source of the first indicator that reads what is not there."""
    checks = _STATIC + (_LANDED if landed else ())
    for ind in indicators.values():
        for n, source in enumerate(ind.sources, start=1):
            for key, check in checks:
                message = check(source, tables)
                if message:
                    raise WiringError(file, f"indicator {ind.code!r} source {n}", key, message)


def configured_tables(paths: ProjectPaths) -> Tables:
    """Every table a registered source lands, with the live filter of the CBS tables."""
    feeds = [f for s in registry.sources() for f in s.feeds(paths)]
    switched_off = {s.id: s.live_filter for s in load_catalog(paths.tables_toml) if not s.enabled}  # still nameable
    return Tables({**switched_off, **{t: getattr(f.config, "live_filter", None) for f in feeds for t in f.table_ids}},
                  paths.tables_toml)


def check_config(paths: ProjectPaths) -> Tables:
    """Load every config file strictly and check the wiring that needs no data; the tables, for later checks. The
    claims files (config/claims/) are checked by the reconciliation: they name regions only the landed data knows."""
    tables = configured_tables(paths)  # loads config/tables.toml strictly
    load_region_config(paths.regions_toml)
    indicators = load_indicators(paths.indicators_toml)
    check_wiring(indicators, tables, paths.indicators_toml)
    load_rules(paths.rules_toml, indicators=indicators)  # read by the reconciliation: its errors come first too
    load_proxies(paths.proxies_toml, indicators=set(indicators))
    return tables


def check_landed(paths: ProjectPaths, measures: pl.DataFrame, codes: pl.DataFrame) -> None:
    """The wiring against what is landed for the CBS tables of config/tables.toml: raw.measures (table_id,
    measure_id) and raw.dimension_codes (table_id, dimension, code_raw). A table with nothing landed is not
    judged, nor are LISA exports: their measures are whatever columns the files that arrived so far hold."""
    tables = configured_tables(paths)
    cbs = [s.id for s in load_catalog(paths.tables_toml)]
    measures = measures.filter(pl.col("table_id").is_in(cbs))
    codes = codes.filter(pl.col("table_id").is_in(cbs))
    by_table = measures.group_by("table_id").agg(pl.col("measure_id").unique())
    by_dim = codes.group_by("table_id", "dimension").agg(pl.col("code_raw").str.strip_chars().unique())
    landed = Tables(tables.live_filters, tables.tables_toml,
                    {r["table_id"]: frozenset(r["measure_id"]) for r in by_table.iter_rows(named=True)},
                    {(r["table_id"], r["dimension"]): frozenset(r["code_raw"]) for r in by_dim.iter_rows(named=True)})
    check_wiring(load_indicators(paths.indicators_toml), landed, paths.indicators_toml, landed=True)
