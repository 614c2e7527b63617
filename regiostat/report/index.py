"""The site's front page: every region with a page, grouped by level, searchable in the browser.

The list is plain HTML (it works without JavaScript); site.js filters it as the reader types, on name
and code, ignoring case and accents.
"""

from __future__ import annotations

import unicodedata
from html import escape

from regiostat.report import labels
from regiostat.report.geo import ATTRIBUTION
from regiostat.report.page import Link
from regiostat.report.render import document


def search_key(*parts: str) -> str:
    text = " ".join(parts).casefold()
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def _level_section(level: str, links: list[Link]) -> str:
    items = "\n".join(f'<li data-search="{escape(search_key(link.name, link.code))}">'
                      f'<a href="regions/{escape(link.href)}">{escape(link.name)}</a> '
                      f'<span class="code">{escape(link.code)}</span></li>' for link in links)
    return (f'<section class="level-group" data-level="{escape(level)}"><h2>{escape(labels.level_label(level))} '
            f'<span class="count">({len(links)})</span></h2><ul class="regions">\n{items}\n</ul></section>')


def index_page(links: list[Link], sources: list[str], build: str) -> str:
    by_level: dict[str, list[Link]] = {}
    for link in links:
        by_level.setdefault(link.level, []).append(link)
    order = [lv for lv in labels.LEVEL_ORDER if lv in by_level] + sorted(set(by_level) - set(labels.LEVEL_ORDER))
    sections = "\n".join(_level_section(lv, sorted(by_level[lv], key=lambda k: (k.name, k.code))) for lv in order)
    lines = "".join(f"<li>{escape(line)}</li>" for line in [*sources, ATTRIBUTION])
    body = f"""<header><h1>Regioprofielen / Regional profiles</h1>
<p>Kerncijfers, reeksen, kaarten en de controle van beleidscijfers per regio, uit het gepubliceerde
regiostat-warehouse. / Key figures, series, maps and the check of policy figures per region, from the
published regiostat warehouse.</p>
<label for="search">Zoek een regio of code / Search a region or code</label>
<input id="search" type="search" autocomplete="off" placeholder="Emmen, CR08, Drenthe …">
<p id="search-count" aria-live="polite">{len(links)} regio's / regions</p>
</header>
<main id="index">
{sections}
<p id="no-match" hidden>Geen regio gevonden. / No region found.</p>
</main>
<footer><h2>Bronnen / Sources</h2><ul class="sources">{lines}</ul><p class="build">{escape(build)}</p></footer>"""
    return document("Regioprofielen / Regional profiles — regiostat", body, static="static", scripts=["site.js"])
