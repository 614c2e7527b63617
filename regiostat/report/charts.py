"""Vega-Lite specifications (plain JSON built in Python) for the profile pages' charts and map.

The vendored Vega-Lite renders them in the browser; each spec carries its own data inline, so a page
needs no fetch. Axis and legend titles are Dutch with English beside them.
"""

from __future__ import annotations

from typing import Any

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
Spec = dict[str, Any]

YEAR_AXIS = {"field": "year", "type": "quantitative", "title": "Jaar / Year",
             "axis": {"format": "d", "tickMinStep": 1, "labelOverlap": True},
             "scale": {"zero": False, "nice": False, "padding": 14}}
LABELLED_MAP_MAX = 25  # municipality names on the map up to this many; beyond it they would overlap
LOG_MAP_MIN = 8  # from this many municipalities on a log scale, so one big city does not wash the rest out
NO_DATA_COLOUR = "#d9d9d9"


def _width(rows: list[dict[str, Any]]) -> int | str:
    """The page's width for a real series; a few years get a narrow chart instead of a wide empty one."""
    years = len({r.get("year") for r in rows})
    return "container" if years > 4 else 160 + 110 * years


def _base(rows: list[dict[str, Any]], height: int = 260) -> Spec:
    return {"$schema": SCHEMA, "width": _width(rows), "height": height, "data": {"values": rows},
            "config": {"font": "system-ui, sans-serif", "legend": {"labelLimit": 440, "titleLimit": 440}}}


def stacked_sector_chart(rows: list[dict[str, Any]], sectors: list[str]) -> Spec:
    """Jobs per year stacked by sector; rows: year, sector (label), jobs, order."""
    spec = _base(rows, height=280)
    years = len({r["year"] for r in rows})
    spec.update({  # a lone year's bar would fill the whole width: give few years a fixed bar width
        "mark": {"type": "bar", "tooltip": True, "width": {"band": 0.75} if years > 6 else 48},
        "encoding": {
            "x": {"field": "year", "type": "ordinal", "title": "Jaar / Year", "axis": {"labelAngle": 0}},
            "y": {"field": "jobs", "type": "quantitative", "aggregate": "sum", "title": "Banen / Jobs"},
            "color": {"field": "sector", "type": "nominal", "title": "Sector (SBI 2008)", "sort": sectors,
                      "scale": {"domain": sectors, "scheme": "tableau20"},
                      "legend": {"orient": "bottom", "columns": 3, "symbolType": "square"}},
            "order": {"field": "order", "type": "quantitative"},
            "tooltip": [{"field": "year", "type": "ordinal", "title": "Jaar / Year"},
                        {"field": "sector", "type": "nominal", "title": "Sector"},
                        {"field": "jobs", "type": "quantitative", "title": "Banen / Jobs", "format": ",.0f"}],
        },
    })
    return spec


def series_chart(rows: list[dict[str, Any]], y_title: str, *, value_format: str = ",.0f",
                 compare: tuple[str, str] | None = None, legend: bool = True) -> Spec:
    """Lines with points per series (rows: year, value, series[, region]); ``compare`` = (this region's
    name, the country's name) draws the country dashed beside the region; ``legend=False`` when the
    section heading already names the only series."""
    spec = _base(rows)
    encoding: Spec = {
        "x": YEAR_AXIS,
        "y": {"field": "value", "type": "quantitative", "title": y_title, "scale": {"zero": False, "padding": 8}},
        "color": {"field": "series", "type": "nominal", "title": "Reeks / Series",
                  "legend": {"orient": "bottom", "direction": "vertical"} if legend else None},
        "tooltip": [{"field": "series", "type": "nominal", "title": "Reeks / Series"},
                    {"field": "year", "type": "quantitative", "title": "Jaar / Year", "format": "d"},
                    {"field": "value", "type": "quantitative", "title": y_title, "format": value_format}],
    }
    if compare is not None:
        encoding["strokeDash"] = {"field": "region", "type": "nominal", "title": "Regio / Region",
                                  "scale": {"domain": list(compare), "range": [[1, 0], [6, 4]]},
                                  "legend": {"orient": "bottom", "direction": "vertical"}}
        encoding["shape"] = {"field": "region", "type": "nominal", "title": "Regio / Region",
                             "scale": {"domain": list(compare), "range": ["circle", "square"]},
                             "legend": {"orient": "bottom", "direction": "vertical"}}
        encoding["detail"] = {"field": "region", "type": "nominal"}
        encoding["tooltip"].insert(0, {"field": "region", "type": "nominal", "title": "Regio / Region"})
    spec.update({"mark": {"type": "line", "point": {"size": 60, "filled": True}, "strokeWidth": 2},
                 "encoding": encoding})
    return spec


def harmonised_chart(rows: list[dict[str, Any]], y_title: str) -> Spec:
    """The series on one year's boundaries, each point coloured by whether it was converted; for
    converted years the figure as published on the old boundaries is shown hollow beside it."""
    status_scale = {"domain": ["omgerekend / converted", "ongewijzigd / unchanged",
                               "gepubliceerd (oude grenzen) / published (old boundaries)"],
                    "range": ["#d95f02", "#1b9e77", "#7570b3"]}
    tooltip = [{"field": "year", "type": "quantitative", "title": "Jaar / Year", "format": "d"},
               {"field": "status", "type": "nominal", "title": "Status"},
               {"field": "value", "type": "quantitative", "title": y_title, "format": ",.0f"},
               {"field": "method", "type": "nominal", "title": "Methode / Method"}]
    spec = _base(rows)
    spec["layer"] = [
        {"transform": [{"filter": "datum.kind == 'harmonised'"}],
         "mark": {"type": "line", "color": "#999999", "strokeWidth": 1.5},
         "encoding": {"x": YEAR_AXIS, "y": {"field": "value", "type": "quantitative", "title": y_title,
                                            "scale": {"zero": False}}}},
        {"mark": {"type": "point", "size": 90, "strokeWidth": 2, "tooltip": True},
         "encoding": {"x": YEAR_AXIS, "y": {"field": "value", "type": "quantitative"},
                      "color": {"field": "status", "type": "nominal", "title": "Status", "scale": status_scale,
                                "legend": {"orient": "bottom", "direction": "vertical"}},
                      "shape": {"field": "status", "type": "nominal", "scale": {
                          "domain": status_scale["domain"], "range": ["diamond", "circle", "circle"]}},
                      "fill": {"condition": {"test": "datum.kind == 'harmonised'", "field": "status",
                                             "type": "nominal", "scale": status_scale}, "value": "white"},
                      "tooltip": tooltip}},
    ]
    return spec


def map_spec(geo_name: str, shown: list[str], values: list[dict[str, Any]], *, value_title: str,
             value_format: str, highlight: str | None = None) -> Spec:
    """The region's municipalities from the boundary file ``geo_name`` (its topology is put in by
    site.js from window.REGIOSTAT_GEO), shaded by ``values`` (rows: code, name, value, shown)."""
    lookup = {"lookup": "properties.statcode",
              "from": {"data": {"values": values}, "key": "code", "fields": ["value", "name", "shown"]}}
    tooltip = [{"field": "name", "type": "nominal", "title": "Gemeente / Municipality"},
               {"field": "properties.statcode", "type": "nominal", "title": "Code"},
               {"field": "shown", "type": "nominal", "title": value_title}]
    positive = [v["value"] for v in values if v["value"] is not None]
    log = len(shown) >= LOG_MAP_MIN and bool(positive) and min(positive) > 0
    scale = {"type": "log", "scheme": "blues"} if log else {"scheme": "blues"}
    legend = {"orient": "bottom", "direction": "horizontal", "gradientLength": 320, "format": value_format,
              "labelOverlap": "greedy", "titleLimit": 600, "tickCount": 4}
    if log:  # labels at powers of ten away from the ends, where they would be cut off
        low, high = min(positive), max(positive)
        legend["values"] = [10 ** k for k in range(0, 10) if low * 1.5 < 10 ** k < high / 1.5]
        legend["title"] = f"{value_title} (logaritmische schaal / log scale)"
    layers: list[Spec] = [{
        "mark": {"type": "geoshape", "stroke": "white", "strokeWidth": 0.8, "tooltip": True, "invalid": "show"},
        "encoding": {
            "color": {"condition": {"test": "!isValid(datum.value)", "value": NO_DATA_COLOUR},
                      "field": "value", "type": "quantitative", "title": value_title, "scale": scale,
                      "legend": legend},
            "tooltip": tooltip,
        },
    }]
    if len(shown) <= LABELLED_MAP_MAX:
        layers += _name_labels()
    if highlight is not None:
        layers.append({"transform": [{"filter": {"field": "properties.statcode", "equal": highlight}}],
                       "mark": {"type": "geoshape", "filled": False, "stroke": "#d95f02", "strokeWidth": 3}})
    return {"$schema": SCHEMA, "width": "container", "height": 560 if len(shown) > 60 else 420,
            "data": {"name": geo_name, "format": {"type": "topojson", "feature": geo_name}},
            "transform": [{"filter": {"field": "properties.statcode", "oneOf": shown}}, lookup],
            "projection": {"type": "mercator"}, "layer": layers,
            "config": {"font": "system-ui, sans-serif", "view": {"stroke": None}}}


def _name_labels() -> list[Spec]:
    """Municipality names at their centroids, dark text on a white halo so they read on any shade."""
    centroid = {"calculate": "geoCentroid(null, datum)", "as": "centroid"}
    encoding = {"longitude": {"field": "centroid[0]", "type": "quantitative"},
                "latitude": {"field": "centroid[1]", "type": "quantitative"},
                "text": {"field": "name", "type": "nominal"}}
    text = {"type": "text", "fontSize": 11, "fontWeight": 600}
    return [{"transform": [centroid], "mark": {**text, "stroke": "white", "strokeWidth": 3, "strokeOpacity": 0.85},
             "encoding": encoding},
            {"transform": [centroid], "mark": {**text, "fill": "#1f2933"}, "encoding": encoding}]
