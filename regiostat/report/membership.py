"""Which municipalities make up a region, and which regions a region lies in, for maps and links.

Read from the published hierarchy (core.region_parent, core.custom_region), not from the boundary
files: a page draws the municipalities the warehouse aggregates, whatever the map file holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from regiostat.report.source import WarehouseData

COUNTRY_LEVEL = "land"
MUNICIPALITY_LEVEL = "gemeente"
PARENT_LEVELS = ("corop", "provincie", "landsdeel")


@dataclass(frozen=True)
class Hierarchy:
    """Municipality membership of every region code, and the parents of every region."""

    levels: dict[str, str]
    children: dict[str, frozenset[str]]
    parents: dict[str, dict[str, str]]
    custom_members: dict[str, tuple[str, ...]]

    def level(self, code: str) -> str | None:
        return self.levels.get(code)

    def municipalities(self, code: str) -> frozenset[str]:
        """Every municipality of a region (itself for a municipality; all for the country)."""
        level = self.levels.get(code)
        if level == MUNICIPALITY_LEVEL:
            return frozenset({code})
        if level == COUNTRY_LEVEL:
            return frozenset(c for c, lv in self.levels.items() if lv == MUNICIPALITY_LEVEL)
        if code in self.custom_members:
            return frozenset().union(*(self._expand(m) for m in self.custom_members[code]))
        return self.children.get(code, frozenset())

    def _expand(self, member: str) -> frozenset[str]:
        return frozenset({member}) if member.startswith("GM") else self.children.get(member, frozenset())

    def parent(self, code: str, level: str) -> str | None:
        return self.parents.get(code, {}).get(level)


def build_hierarchy(data: WarehouseData) -> Hierarchy:
    levels = dict(data.profile.select("region_code", "region_level").unique().iter_rows())
    regions = data.table("core.dim_region")
    if regions is not None:
        for code, level in regions.select("region_code", "region_level").iter_rows():
            levels.setdefault(code, level)
    children: dict[str, set[str]] = {}
    parents: dict[str, dict[str, str]] = {}
    links = data.table("core.region_parent")
    if links is not None:
        for code, parent_level, parent in links.select("region_code", "parent_level", "parent_code").iter_rows():
            parents.setdefault(code, {})[parent_level] = parent
            if levels.get(code) == MUNICIPALITY_LEVEL or (code.startswith("GM") and code not in levels):
                children.setdefault(parent, set()).add(code)
    custom: dict[str, list[str]] = {}
    members = data.table("core.custom_region")
    if members is not None:
        for region_id, member in members.select("region_id", "member_code").iter_rows():
            custom.setdefault(region_id, []).append(member)
    return Hierarchy(levels=levels, children={k: frozenset(v) for k, v in children.items()}, parents=parents,
                     custom_members={k: tuple(v) for k, v in custom.items()})


def region_names(data: WarehouseData) -> dict[str, str]:
    """The profile's names, completed by core.dim_region for codes without profile rows."""
    names: dict[str, str] = {}
    regions = data.table("core.dim_region")
    if regions is not None:
        names.update(regions.select("region_code", "region_name").filter(pl.col("region_name").is_not_null())
                     .iter_rows())
    names.update(data.profile.select("region_code", "region_name").unique().iter_rows())
    return names
