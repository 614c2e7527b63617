"""The list of CBS tables to load (config/tables.toml), read into plain dataclasses."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

_TABLE_ID = re.compile(r"^[0-9A-Za-z]{5,10}$")


class CatalogError(ValueError):
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
class TableSpec:
    id: str
    title: str
    api: str  # v3 | v4
    live_filter: str | None = None
    declared_measures: dict[str, DeclaredMeasure] = field(default_factory=dict)
    derived_csv: DerivedCsvLayout | None = None

    @property
    def asset_suffix(self) -> str:
        return self.id.lower()


def load_catalog(path: Path | str) -> list[TableSpec]:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{path}: not valid TOML: {exc}") from exc
    specs = [_table(path, i, raw) for i, raw in enumerate(data.get("table", []), start=1)]
    ids = [s.id for s in specs]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise CatalogError(f"{path}: table listed twice: {', '.join(dupes)}")
    return specs


def _table(path: Path, n: int, raw: dict) -> TableSpec:
    where = f"{path}: [[table]] #{n}"
    table_id = str(raw.get("id", ""))
    if not _TABLE_ID.match(table_id):
        raise CatalogError(f"{where}: 'id' must be a CBS table id like 83582NED, got {table_id!r}")
    where = f"{path}: table {table_id}"
    api = raw.get("api")
    if api not in {"v3", "v4"}:
        raise CatalogError(f"{where}: 'api' must be \"v3\" or \"v4\", got {api!r}")
    measures = {}
    for key, m in raw.get("declared_measures", {}).items():
        missing = [f for f in ("title", "unit", "decimals", "evidence") if f not in m]
        if missing:
            raise CatalogError(f"{where}: declared measure {key} lacks {', '.join(missing)}")
        measures[key] = DeclaredMeasure(key=key, title=m["title"], unit=m["unit"], decimals=int(m["decimals"]),
                                        evidence=m["evidence"], column_position=m.get("column_position", "any"))
    derived = None
    if "derived_csv" in raw:
        d = raw["derived_csv"]
        try:
            derived = DerivedCsvLayout(region_column=d["region_column"], year_column=d["year_column"],
                                       value_column=d["value_column"], measure=d["measure"],
                                       fixed_dimensions=dict(d.get("fixed_dimensions", {})))
        except KeyError as exc:
            raise CatalogError(f"{where}: derived_csv lacks {exc.args[0]}") from exc
    return TableSpec(id=table_id.upper(), title=raw.get("title", ""), api=api, live_filter=raw.get("live_filter"),
                     declared_measures=measures, derived_csv=derived)
