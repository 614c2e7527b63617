"""The warehouse's tables indexed by region once, so building ~600 pages is a lookup per section."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from regiostat.report.geo import BoundaryFile
from regiostat.report.membership import Hierarchy, build_hierarchy, region_names
from regiostat.report.source import WarehouseData

COUNTRY = "NL01"


def _by(frame: pl.DataFrame | None, column: str) -> dict[str, pl.DataFrame]:
    if frame is None or frame.is_empty():
        return {}
    return {key[0]: part for key, part in frame.partition_by(column, as_dict=True).items()}


@dataclass
class SiteContext:
    """What every page builder needs: the data, the hierarchy, names, boundary files and which codes
    get a page in this build (links go only to pages that exist)."""

    data: WarehouseData
    boundaries: list[BoundaryFile]
    paged: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.hierarchy: Hierarchy = build_hierarchy(self.data)
        self.names: dict[str, str] = region_names(self.data)
        self.profile: dict[str, pl.DataFrame] = _by(self.data.profile, "region_code")
        jobs = self.data.table("marts.jobs_by_sector_region_year")
        if jobs is not None:  # SBI sections only (one letter): the aggregates B-F, G-N... would count twice
            jobs = jobs.filter(pl.col("sbi_section").str.len_chars() == 1)
        self.jobs: dict[str, pl.DataFrame] = _by(jobs, "region_code")
        self.harmonised: dict[str, pl.DataFrame] = _by(self.data.table("marts.municipal_series_harmonised"),
                                                       "region_code")
        self.verdicts: dict[str, pl.DataFrame] = _by(self.data.table("reconcile.verdicts"), "region")
        self.english: dict[str, str] = self._indicator_column("name_en")
        self.units: dict[str, str] = self._indicator_column("unit")
        self.municipal_values: dict[str, pl.DataFrame] = _by(
            self.data.profile.filter(pl.col("region_level") == "gemeente"), "indicator")

    def _indicator_column(self, column: str) -> dict[str, str]:
        indicators = self.data.table("core.dim_indicator")
        if indicators is None or column not in indicators.columns:
            return {}
        return {code: value for code, value in indicators.select("code", column).iter_rows() if value}

    def name(self, code: str) -> str:
        return self.names.get(code, code)

    def region_rows(self, code: str) -> pl.DataFrame:
        return self.profile.get(code, self.data.profile.clear())

    def decision(self, indicator: str, region: str, period: str) -> str | None:
        decisions = self.data.table("reconcile.decisions")
        if decisions is None:
            return None
        found = decisions.filter((pl.col("indicator") == indicator) & (pl.col("region") == region)
                                 & (pl.col("period") == period))
        return found["sentence"][0] if found.height else None

    def source_table(self, table_id: str) -> tuple[str | None, str | None]:
        """(title, licence) of a CBS table as core.dim_source_table records it."""
        tables = self.data.table("core.dim_source_table")
        found = tables.filter(pl.col("table_id") == table_id) if tables is not None else None
        if found is None or not found.height:
            return None, None
        return found["title"][0], found["licence"][0]
