"""Key figures (the latest year of every indicator a region has) and the source lines they require."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from regiostat.report import labels
from regiostat.report.context import SiteContext

# the indicators readers look for first; the rest follow in code order
FIRST = ("population", "cbs_employee_jobs", "cbs_industry_share_c", "cbs_industry_share_bf", "cbs_establishments",
         "cbs_jobs_kerncijfers", "cbs_kerncijfers_industry_share_bf", "lisa_jobs", "lisa_establishments")


@dataclass(frozen=True)
class KeyFigure:
    indicator: str
    name_nl: str
    name_en: str | None
    year: int
    value: float | None
    unit: str
    source_tables: tuple[str, ...]
    status: str
    method: str
    members_with_data: int | None
    members_expected: int | None
    missing_members: str | None

    @property
    def shown(self) -> str:
        return labels.format_value(self.value, self.unit)

    @property
    def coverage(self) -> str | None:
        """'3/4' for an aggregate (members with data of members expected), None for a published figure."""
        if self.members_expected is None:
            return None
        return f"{self.members_with_data}/{self.members_expected}"


def split_tables(source_tables: str | None) -> tuple[str, ...]:
    return tuple(t.strip() for t in (source_tables or "").replace(";", ",").split(",") if t.strip())


def _order(indicator: str) -> tuple[int, str]:
    return (FIRST.index(indicator) if indicator in FIRST else len(FIRST), indicator)


def key_figures(ctx: SiteContext, code: str) -> list[KeyFigure]:
    rows = ctx.region_rows(code).filter(pl.col("value").is_not_null())
    latest = rows.sort("year").group_by("indicator", maintain_order=True).last()
    figures = [_figure(ctx, row) for row in latest.iter_rows(named=True)]
    return sorted(figures, key=lambda f: _order(f.indicator))


def _figure(ctx: SiteContext, row: dict) -> KeyFigure:
    tables = split_tables(row["source_tables"])
    return KeyFigure(indicator=row["indicator"], name_nl=row["indicator_name"] or row["indicator"],
                     name_en=ctx.english.get(row["indicator"]), year=int(row["year"]), value=row["value"],
                     unit=row["unit"] or "", source_tables=tables, status=status(ctx, tables, int(row["year"])),
                     method=row["method"] or "", members_with_data=row["members_with_data"],
                     members_expected=row["members_expected"], missing_members=row["missing_members"])


def status(ctx: SiteContext, tables: tuple[str, ...], year: int) -> str:
    """The source tables' period status for the year (CBS gives one per period of a table; not every source does)."""
    found = sorted({s for t in tables for s in ctx.data.statuses.get((t, year), ())})
    if not found:
        return "—"
    return ", ".join(labels.label(labels.STATUSES, s) for s in found)


def source_lines(ctx: SiteContext, used: set[tuple[str, int]]) -> list[str]:
    """The attribution line each source asks for ("Bron: CBS", "Bron: LISA 2017"), once per table and line,
    with the table's title and licence."""
    asked = sorted({(t, line) for t, y in used for line in ctx.data.attributions.get((t, y), ())})
    lines = []
    for table, line in asked:
        title, licence = ctx.source_table(table)
        named = f"{table} “{title}”" if title else table
        lines.append(f"{line}, {named}; licentie / licence: {licence}" if licence else f"{line}, {named}")
    return lines
