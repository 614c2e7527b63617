"""Sector labels in LISA exports -> SBI 2008 sections, only where a label names exactly one section."""

from __future__ import annotations

from regiostat.sources.lisa.cells import norm

TOTAL_LABELS = {"totaal", "totaal alle sectoren", "alle sectoren", "totaal generaal"}

# Sector label (normalised) -> SBI 2008 section, only where the label names one section.
# The first block is the Drenthe werkgelegenheidsonderzoek / LISA labels (Noordenveld file).
SBI_SECTIONS = {
    "landbouw bosbouw en visserij": "A",
    "industrie": "C",
    "prod distrib handel in elekt aardgas stoom en lucht": "D",
    "winning distr v water afval afvalwaterbeheer en sanering": "E",
    "bouwnijverheid": "F",
    "groot en detailhandel reparatie van auto s": "G",
    "vervoer en opslag": "H",
    "logies maaltijd en drankverstrekking": "I",
    "informatie en communicatie": "J",
    "financiele instellingen": "K",
    "verhuur van en handel in onroerend goed": "L",
    "advisering onderzoek en overige zakelijke dienstverlening": "M",
    "verhuur van roerende goederen en overige zakelijke dienstverlening": "N",
    "openbaar bestuur overheidsdiensten en verpl soc verzek": "O",
    "onderwijs": "P",
    "gezondheids en welzijnszorg": "Q",
    "cultuur sport en recreatie": "R",
    "overige dienstverlening": "S",
    # CBS StatLine short titles of the SBI 2008 sections
    "delfstoffenwinning": "B",
    "energievoorziening": "D",
    "waterbedrijven en afvalbeheer": "E",
    "handel": "G",
    "horeca": "I",
    "financiele dienstverlening": "K",
    "verhuur en handel van onroerend goed": "L",
    "specialistische zakelijke diensten": "M",
    "verhuur en overige zakelijke diensten": "N",
    "openbaar bestuur en overheidsdiensten": "O",
    "extraterritoriale organisaties": "U",
}


def is_total(label: str) -> bool:
    return norm(label) in TOTAL_LABELS


def sbi_section(label: str) -> str | None:
    return SBI_SECTIONS.get(norm(label))


def sector_code(label: str) -> str:
    """The label as a code that fits a dimension key (no spaces, no ';'): "Groot- en detailhandel; reparatie
    van auto's" -> "groot_en_detailhandel_reparatie_van_auto_s". Two labels with one code are one sector."""
    return norm(label).replace(" ", "_")
