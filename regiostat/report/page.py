"""One region's page as data: key figures, charts, map, claims, links and source lines.

Rendering (render.py) only formats this; tests can check a page's content without a browser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from regiostat.report import labels
from regiostat.report.claims import Claim, region_claims
from regiostat.report.context import COUNTRY, SiteContext
from regiostat.report.figures import KeyFigure, key_figures, source_lines
from regiostat.report.maps import MapView, region_map
from regiostat.report.membership import PARENT_LEVELS
from regiostat.report.timeseries import (
    Chart,
    converted_members,
    establishments_chart,
    harmonised_charts,
    population_chart,
    sector_chart,
    share_chart,
)

UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def page_slug(code: str) -> str:
    """A region code as a file name: codes are plain already; anything else becomes '_'."""
    return UNSAFE.sub("_", code) or "_"


@dataclass(frozen=True)
class Link:
    code: str
    name: str
    level: str
    has_page: bool

    @property
    def href(self) -> str:
        return f"{page_slug(self.code)}.html"


@dataclass(frozen=True)
class RegionPage:
    code: str
    name: str
    level: str
    key_figures: list[KeyFigure]
    charts: list[Chart]
    map: MapView | None
    claims: list[Claim]
    parents: list[Link]
    members: list[Link]
    converted_members: list[Link]
    sources: list[str]

    @property
    def slug(self) -> str:
        return page_slug(self.code)

    @property
    def level_label(self) -> str:
        return labels.level_label(self.level)


def _link(ctx: SiteContext, code: str) -> Link:
    return Link(code, ctx.name(code), ctx.hierarchy.level(code) or "", code in ctx.paged)


def _parents(ctx: SiteContext, code: str) -> list[Link]:
    found = [ctx.hierarchy.parent(code, level) for level in PARENT_LEVELS]
    codes = [c for c in found if c] + ([COUNTRY] if code != COUNTRY else [])
    return [_link(ctx, c) for c in codes]


def _members(ctx: SiteContext, code: str, level: str) -> list[Link]:
    if level in ("gemeente", "land"):
        return []  # a municipality has none; the country's are the index
    links = [_link(ctx, m) for m in ctx.hierarchy.municipalities(code)]
    return sorted(links, key=lambda link: link.name)


def build_page(ctx: SiteContext, code: str) -> RegionPage:
    level = ctx.hierarchy.level(code) or ""
    figures = key_figures(ctx, code)
    sections = [sector_chart(ctx, code), share_chart(ctx, code), establishments_chart(ctx, code),
                population_chart(ctx, code)]
    chart_list = [c for c in sections if c is not None] + harmonised_charts(ctx, code)
    view = region_map(ctx, code)
    used = {(t, f.year) for f in figures for t in f.source_tables}
    for chart in chart_list:
        used |= chart.used
    if view is not None:
        used |= view.used
    return RegionPage(code=code, name=ctx.name(code), level=level, key_figures=figures, charts=chart_list, map=view,
                      claims=region_claims(ctx, code), parents=_parents(ctx, code),
                      members=_members(ctx, code, level),
                      converted_members=[_link(ctx, m) for m in converted_members(ctx, code)],
                      sources=source_lines(ctx, used))
