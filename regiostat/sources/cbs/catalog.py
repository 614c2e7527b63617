"""The list of CBS tables to load (config/tables.toml), read into plain dataclasses."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from regiostat.configkeys import ConfigError, check_file_keys, check_keys
from regiostat.lateness import FREQUENCIES

_TABLE_ID = re.compile(r"^[0-9A-Za-z]{5,10}$")

# The keys each table of config/tables.toml may hold; anything else stops the run (regiostat.configkeys).
KEYS = {
    "file": ("table",),
    "table": ("id", "title", "api", "enabled", "frequency", "live_filter", "bundled_only", "declared_measures",
              "derived_csv", "derived_json"),
    "declared_measure": ("title", "unit", "decimals", "evidence", "column_position"),
    "derived_csv": ("region_column", "year_column", "value_column", "measure", "fixed_dimensions"),
    "derived_json": ("values", "region_prefix", "period", "measure", "fixed_dimensions"),
}


class CatalogError(ConfigError):
    """config/tables.toml is malformed; the message names the table and field."""


@dataclass(frozen=True)
class DeclaredMeasure:
    key: str
    title: str
    unit: str
    decimals: int
    evidence: str
    column_position: str = "any"  # "first": only the first column with this base key


@dataclass(frozen=True)
class DerivedCsvLayout:
    region_column: str
    year_column: str
    value_column: str
    measure: str
    fixed_dimensions: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DerivedJsonLayout:
    """A third party's processed JSON: one object of region code (without its prefix) -> value, one period."""

    values: str  # key of the object region -> value
    region_prefix: str  # "GM": the keys are municipality codes without it
    period: str  # key of the CBS period code the values are for
    measure: str
    fixed_dimensions: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TableSpec:
    id: str
    title: str
    api: str  # v3 | v4
    live_filter: str | None = None
    declared_measures: dict[str, DeclaredMeasure] = field(default_factory=dict)
    derived_csv: DerivedCsvLayout | None = None
    derived_json: DerivedJsonLayout | None = None
    bundled_only: str | None = None  # why live mode lands the shipped capture instead of fetching
    enabled: bool = True  # False: listed (indicators may name it) but neither landed nor built
    frequency: str = "yearly"  # how often CBS adds figures: when a landing counts as late (regiostat.lateness)

    @property
    def asset_suffix(self) -> str:
        return self.id.lower()


def load_catalog(path: Path | str) -> list[TableSpec]:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{path}: not valid TOML: {exc}") from exc
    check_file_keys(path, data, KEYS["file"], CatalogError)
    specs = [_table(path, i, raw) for i, raw in enumerate(data.get("table", []), start=1)]
    ids = [s.id for s in specs]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise CatalogError(f"{path}: table listed twice: {', '.join(dupes)}")
    return specs


def _table(path: Path, n: int, raw: dict) -> TableSpec:
    table_id = str(raw.get("id", "")) if isinstance(raw, dict) else ""
    where = f"table {table_id}" if _TABLE_ID.match(table_id) else f"[[table]] #{n}"
    check_keys(path, where, raw, KEYS["table"], CatalogError)
    if not _TABLE_ID.match(table_id):
        raise CatalogError(f"{path}: {where}: 'id' must be a CBS table id like 83582NED, got {table_id!r}")
    api = raw.get("api")
    if api not in {"v3", "v4"}:
        raise CatalogError(f"{path}: {where}: 'api' must be \"v3\" or \"v4\", got {api!r}")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise CatalogError(f"{path}: {where}: 'enabled' must be true or false, got {enabled!r}")
    frequency = raw.get("frequency", "yearly")
    if frequency not in FREQUENCIES:
        raise CatalogError(f"{path}: {where}: 'frequency' must be one of {', '.join(map(repr, FREQUENCIES))}, "
                           f"got {frequency!r}")
    return TableSpec(id=table_id.upper(), title=raw.get("title", ""), api=api, enabled=enabled, frequency=frequency,
                     live_filter=raw.get("live_filter"),
                     declared_measures=_declared_measures(path, where, raw.get("declared_measures", {})),
                     derived_csv=_layout(path, where, raw, "derived_csv", DerivedCsvLayout),
                     derived_json=_layout(path, where, raw, "derived_json", DerivedJsonLayout),
                     bundled_only=raw.get("bundled_only"))


def _declared_measures(path: Path, where: str, raw: dict) -> dict[str, DeclaredMeasure]:
    measures = {}
    for key, m in raw.items():
        check_keys(path, f"{where} declared measure {key}", m, KEYS["declared_measure"], CatalogError)
        missing = [f for f in ("title", "unit", "decimals", "evidence") if f not in m]
        if missing:
            raise CatalogError(f"{path}: {where}: declared measure {key} lacks {', '.join(missing)}")
        measures[key] = DeclaredMeasure(key=key, title=m["title"], unit=m["unit"], decimals=int(m["decimals"]),
                                        evidence=m["evidence"], column_position=m.get("column_position", "any"))
    return measures


def _layout(path: Path, where: str, raw: dict, name: str, kind: type):
    if name not in raw:
        return None
    d = raw[name]
    check_keys(path, f"{where} {name}", d, KEYS[name], CatalogError)
    try:
        return kind(**{k: v for k, v in d.items() if k != "fixed_dimensions"},
                    fixed_dimensions=dict(d.get("fixed_dimensions", {})))
    except TypeError as exc:
        missing = [k for k in KEYS[name] if k != "fixed_dimensions" and k not in d]
        raise CatalogError(f"{path}: {where}: {name} lacks {', '.join(missing)}") from exc
