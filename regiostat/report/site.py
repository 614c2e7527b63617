"""write_site: the static regional profile site from the PUBLISHED warehouse, in one call.

The site is written next to its destination and swapped in at the end, so a reader (or a web
server) never sees half a site, and a failed run leaves the previous site standing. A folder that
is not a site this function wrote is never replaced.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import polars as pl

from regiostat.paths import ProjectPaths
from regiostat.publish.folders import swap_folder
from regiostat.report.context import SiteContext
from regiostat.report.figures import source_lines, split_tables
from regiostat.report.geo import BoundaryFile, load_boundaries, write_geo_script
from regiostat.report.index import index_page
from regiostat.report.page import Link, build_page, page_slug
from regiostat.report.render import region_page
from regiostat.report.source import read_warehouse

MARKER = ".regiostat-site"
STATIC_FILES = ("site.css", "site.js")
VENDOR_FILES = ("vega.min.js", "vega-lite.min.js", "vega-embed.min.js", "VENDORED.md", "LICENSE.vega",
                "LICENSE.vega-lite", "LICENSE.vega-embed")


@dataclass(frozen=True)
class SiteSummary:
    out_dir: Path
    pages: int
    regions: tuple[str, ...]
    bytes: int
    seconds: float

    def text(self) -> str:
        return (f"wrote {self.pages} region pages and index.html to {self.out_dir} "
                f"({self.bytes / 1e6:.1f} MB) in {self.seconds:.1f} s")


def write_site(published_path: Path | str, out_dir: Path | str, regions: Iterable[str] | None = None,
               paths: ProjectPaths | None = None) -> SiteSummary:
    """Write index.html, regions/<code>.html and static/ for ``regions`` (default: every region in
    marts.regional_profile) into ``out_dir``; raises ValueError naming codes the warehouse lacks."""
    started = time.perf_counter()
    out = Path(out_dir)
    _check_replaceable(out)
    data = read_warehouse(published_path)
    ctx = SiteContext(data=data, boundaries=load_boundaries((paths or ProjectPaths.default()).geo_dir))
    codes = _chosen(data.profile, regions)
    ctx.paged = set(codes)
    staging = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        _write(ctx, codes, staging)
        swap_folder(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return SiteSummary(out, len(codes), tuple(codes), size, time.perf_counter() - started)


def _chosen(profile: pl.DataFrame, regions: Iterable[str] | None) -> list[str]:
    known = profile["region_code"].unique().sort().to_list()
    if regions is None:
        return known
    wanted = list(dict.fromkeys(regions))
    unknown = [c for c in wanted if c not in set(known)]
    if unknown:
        raise ValueError(f"not in marts.regional_profile: {', '.join(unknown)}")
    return wanted


def _build_line(ctx: SiteContext) -> str:
    info = ctx.data.table("meta.build_info")
    if info is None or info.is_empty():
        return "Gemaakt met regiostat / Made with regiostat."
    row = info.row(0, named=True)
    return (f"Gemaakt met regiostat uit build {row['build_id']} van {row['built_at']:%Y-%m-%d %H:%M} "
            f"(schemaversie {row['schema_version']}). / Made with regiostat from build {row['build_id']}.")


def _write(ctx: SiteContext, codes: list[str], site: Path) -> None:
    pages_dir = site / "regions"
    pages_dir.mkdir(parents=True)
    _copy_static(site / "static")
    build = _build_line(ctx)
    geo_used: dict[str, BoundaryFile] = {}
    for code in codes:
        page = build_page(ctx, code)
        if page.map is not None:
            geo_used[page.map.geo.name] = page.map.geo
        (pages_dir / f"{page_slug(code)}.html").write_text(region_page(page, build), encoding="utf-8")
    for boundary in geo_used.values():
        write_geo_script(boundary, site / "static" / "geo")
    links = [Link(c, ctx.name(c), ctx.hierarchy.level(c) or "", True) for c in codes]
    used = {(t, int(y)) for tables, y in ctx.data.profile.select("source_tables", "year").unique().iter_rows()
            for t in split_tables(tables)}
    (site / "index.html").write_text(index_page(links, source_lines(ctx, used), build), encoding="utf-8")
    (site / MARKER).write_text("written by regiostat report; the whole folder is replaced on the next run\n")


def _copy_static(target: Path) -> None:
    static = resources.files("regiostat.report") / "static"
    (target / "vendor").mkdir(parents=True)
    for name in STATIC_FILES:
        (target / name).write_bytes((static / name).read_bytes())
    for name in VENDOR_FILES:
        (target / "vendor" / name).write_bytes((static / "vendor" / name).read_bytes())


def _check_replaceable(out: Path) -> None:
    if out.exists() and not (out / MARKER).exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"{out} exists and is not a site regiostat wrote: choose an empty or new folder")
