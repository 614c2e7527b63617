"""HTML for the region pages and the index. Every text from the warehouse is escaped; each page's chart
specs ride along as inline JSON (fetch() of a JSON file fails over file:// in Chromium)."""

from __future__ import annotations

import json
import math
from html import escape
from typing import Any

from regiostat.report import labels
from regiostat.report.claims import Claim
from regiostat.report.figures import KeyFigure
from regiostat.report.geo import ATTRIBUTION
from regiostat.report.page import Link, RegionPage
from regiostat.report.timeseries import Chart

VENDOR = ("vega.min.js", "vega-lite.min.js", "vega-embed.min.js")


def _finite(value: Any) -> Any:
    """JSON has no NaN or Infinity: such values become null (an unknown, drawn as a gap)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def inline_json(value: Any) -> str:
    """JSON safe inside <script>: no '<', '>' or '&' that could end the element."""
    text = json.dumps(_finite(value), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def document(title: str, body: str, *, static: str, scripts: list[str]) -> str:
    tags = "\n".join(f'<script src="{escape(static)}/{escape(s)}"></script>' for s in scripts)
    return f"""<!doctype html>
<html lang="nl">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{escape(static)}/site.css">
</head>
<body>
{body}
{tags}
</body>
</html>
"""


def _link(link: Link) -> str:
    text = f"{escape(link.name)} <span class=\"code\">{escape(link.code)}</span>"
    return f'<a href="{escape(link.href)}">{text}</a>' if link.has_page else text


MISSING_SHOWN = 10  # longer lists of missing members fold away


def _missing(codes: str | None) -> str:
    if not codes:
        return ""
    listed = [c.strip() for c in codes.split(",") if c.strip()]
    if len(listed) <= MISSING_SHOWN:
        return f'<br><span class="missing">ontbreekt / missing: {escape(", ".join(listed))}</span>'
    return (f'<details class="missing"><summary>{len(listed)} ontbreken / missing</summary>'
            f'{escape(", ".join(listed))}</details>')


def _coverage(figure: KeyFigure) -> str:
    method = escape(labels.label(labels.METHODS, figure.method))
    if figure.coverage is None:
        return method
    incomplete = (figure.members_with_data or 0) < (figure.members_expected or 0)
    flag = ' <span class="incomplete">onvolledig / incomplete</span>' if incomplete else ""
    return f'<span class="coverage">{escape(figure.coverage)}</span>{flag} {method}{_missing(figure.missing_members)}'


def _figure_row(figure: KeyFigure) -> str:
    english = f'<span class="en">{escape(figure.name_en)}</span>' if figure.name_en else ""
    return (f'<tr class="key-figure" data-indicator="{escape(figure.indicator)}" data-year="{figure.year}" '
            f'data-value="{escape(repr(figure.value))}">'
            f'<td><span class="nl">{escape(figure.name_nl)}</span>{english}</td>'
            f'<td class="num"><span class="value">{escape(figure.shown)}</span>'
            f'<span class="unit">{escape(labels.label(labels.UNITS, figure.unit))}</span></td>'
            f'<td class="year">{figure.year}</td>'
            f'<td class="source">{escape(", ".join(figure.source_tables) or "—")}</td>'
            f'<td class="status">{escape(figure.status)}</td>'
            f'<td class="coverage-cell">{_coverage(figure)}</td></tr>')


def key_figures_section(figures: list[KeyFigure]) -> str:
    if not figures:
        return ""
    header = "".join(f"<th>{h}</th>" for h in ("Indicator", "Waarde / Value", "Jaar / Year", "Bron / Source",
                                              "Status", "Dekking / Coverage"))
    rows = "\n".join(_figure_row(f) for f in figures)
    return (f'<section id="key-figures"><h2>Kerncijfers / Key figures</h2>'
            f'<p class="note">Het laatste jaar van elke indicator. / The latest year of every indicator.</p>'
            f'<div class="table-wrap"><table class="figures"><thead><tr>{header}</tr></thead>'
            f'<tbody>\n{rows}\n</tbody></table></div></section>')


def _chart_table(chart: Chart) -> str:
    if not chart.table_rows:
        return ""
    head = "".join(f"<th>{escape(h)}</th>" for h in chart.table_header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in chart.table_rows)
    return f'<div class="table-wrap"><table class="series"><thead><tr>{head}</tr></thead><tbody>{body}</tbody>' \
           f'</table></div>'


def chart_section(chart: Chart) -> str:
    return (f'<section class="chart-section" id="section-{escape(chart.id)}"><h2>{escape(chart.title)}</h2>'
            f'<div class="chart" id="chart-{escape(chart.id)}" data-chart="{escape(chart.id)}"></div>'
            f'<p class="caption">{escape(chart.caption)}</p>{_chart_table(chart)}</section>')


def map_section(page: RegionPage) -> str:
    if page.map is None:
        return ""
    return (f'<section class="chart-section" id="section-map"><h2>Kaart / Map</h2>'
            f'<div class="chart map" id="chart-map" data-chart="map"></div>'
            f'<p class="caption">{escape(page.map.caption)}</p></section>')


def _closest_text(closest: dict[str, str]) -> str:
    """The closest real figure as a reader says it: value and indicator, where and when, from which table; then
    its definition and how it differs from the claim. Columns reconcile.verdicts may add later follow as is."""
    if not closest:
        return "—"
    get = closest.pop
    head = " ".join(v for v in (get("closest_value", None), get("closest_indicator", None)) if v)
    where = ", ".join(v for v in (get("closest_regions", None), get("closest_period", None)) if v)
    table = get("closest_table", None)
    parts = [f"{head} — {where}" + (f" ({table})" if table else "")]
    if (definition := get("closest_definition", None)):
        parts.append(f"Definitie / Definition: {definition}")
    if (difference := get("difference", None)):
        parts.append(f"Verschil / Difference: {difference}")
    parts += [f"{k}: {v}" for k, v in closest.items()]
    return ". ".join(p.rstrip(".") for p in parts) + "."


def _claim(claim: Claim, with_closest: bool) -> str:
    verdict = labels.label(labels.VERDICTS, claim.verdict)
    fields = [("Genoemd cijfer / Stated figure", f"{claim.stated} ({claim.period})")]
    if with_closest:
        fields.append(("Dichtstbijzijnde echte cijfer / Closest real figure", _closest_text(dict(claim.closest))))
    if claim.decision:
        fields.append(("Besluit / Decision", claim.decision))
    items = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in fields)
    explanation = (f'<details><summary>Toelichting / Explanation</summary><p>{escape(claim.sentence)}</p></details>'
                   if claim.sentence else "")
    return (f'<article class="claim verdict-{escape(claim.verdict)}" data-claim="{escape(claim.claim_id)}" '
            f'data-verdict="{escape(claim.verdict)}"><p class="badge">{escape(verdict)}</p>'
            f'<blockquote>{escape(claim.quote)}</blockquote>'
            f'<p class="where">{escape(claim.document)}, {escape(claim.location)}</p><dl>{items}</dl>'
            f'{explanation}</article>')


def claims_section(claims: list[Claim]) -> str:
    if not claims:
        return ""
    with_closest = any(c.closest for c in claims)
    counts: dict[str, int] = {}
    for claim in claims:
        counts[claim.verdict] = counts.get(claim.verdict, 0) + 1
    summary = ", ".join(f"{n} {labels.label(labels.VERDICTS, v)}" for v, n in sorted(counts.items()))
    articles = "\n".join(_claim(c, with_closest) for c in claims)
    return (f'<section id="claims"><h2>Wat documenten over deze regio zeggen / What documents say about this region'
            f'</h2><p class="note">{len(claims)} cijfers / figures: {escape(summary)}.</p>\n{articles}\n</section>')


def _links_section(section_id: str, title: str, links: list[Link]) -> str:
    if not links:
        return ""
    items = "".join(f"<li>{_link(link)}</li>" for link in links)
    return f'<section id="{section_id}"><h2>{escape(title)}</h2><ul class="links">{items}</ul></section>'


def _footer(sources: list[str], build: str, with_map: bool) -> str:
    lines = sources + ([ATTRIBUTION] if with_map else [])
    items = "".join(f"<li>{escape(line)}</li>" for line in lines)
    return (f'<footer><h2>Bronnen / Sources</h2><ul class="sources">{items}</ul>'
            f'<p class="build">{escape(build)}</p></footer>')


def region_page(page: RegionPage, build: str) -> str:
    parents = " · ".join(_link(p) for p in page.parents)
    header = (f'<header><nav><a href="../index.html">← Alle regio\'s / All regions</a></nav>'
              f'<h1>{escape(page.name)} <span class="code">{escape(page.code)}</span></h1>'
              f'<p class="level">{escape(page.level_label)}'
              + (f' · ligt in / lies in: {parents}' if parents else "") + '</p></header>')
    body = "\n".join(s for s in (
        key_figures_section(page.key_figures), map_section(page), *(chart_section(c) for c in page.charts),
        _links_section("converted-members", "Gemeenten met omgerekende reeksen / Municipalities with converted "
                       "series", page.converted_members),
        claims_section(page.claims),
        _links_section("members", "Gemeenten / Municipalities", page.members)) if s)
    specs = {"charts": [{"id": c.id, "spec": c.spec} for c in page.charts],
             "map": {"id": "map", "geo": page.map.geo.name, "spec": page.map.spec} if page.map else None}
    data = f'<script id="page-data" type="application/json">{inline_json(specs)}</script>'
    scripts = [f"vendor/{v}" for v in VENDOR] if (page.charts or page.map) else []
    scripts += [f"geo/{page.map.geo.name}.js"] if page.map else []
    content = f"{header}\n<main>\n{body}\n</main>\n{_footer(page.sources, build, page.map is not None)}\n{data}"
    return document(f"{page.name} ({page.code}) — regioprofiel / regional profile", content, static="../static",
                    scripts=[*scripts, "site.js"])
