"""Dutch labels with English beside them, and Dutch number formatting, for the profile site.

The readers are Dutch regional agencies; the English gloss keeps the pages usable for everyone else.
Unknown codes fall through unchanged, so new levels, units or verdicts show up raw instead of breaking.
"""

from __future__ import annotations

import math

LEVELS: dict[str, tuple[str, str]] = {
    "land": ("Land", "Country"),
    "landsdeel": ("Landsdeel", "Part of the country"),
    "provincie": ("Provincie", "Province"),
    "corop": ("COROP-gebied", "COROP region"),
    "gemeente": ("Gemeente", "Municipality"),
    "custom": ("Eigen regio", "Custom region"),
}
LEVEL_ORDER = ("land", "landsdeel", "provincie", "corop", "custom", "gemeente")

UNITS: dict[str, tuple[str, str]] = {
    "jobs": ("banen", "jobs"),
    "persons": ("personen", "persons"),
    "establishments": ("vestigingen", "establishments"),
    "jobs per establishment": ("banen per vestiging", "jobs per establishment"),
    "%": ("%", "%"),
    "ratio": ("verhouding", "ratio"),
    "per 1 000 inhabitants": ("per 1.000 inwoners", "per 1,000 inhabitants"),
}

METHODS: dict[str, tuple[str, str]] = {
    "published": ("gepubliceerd", "published"),
    "sum of members": ("som van de leden", "sum of members"),
    "sum of municipalities": ("som van de gemeenten", "sum of municipalities"),
    "ratio of sums": ("verhouding van sommen", "ratio of sums"),
    "sum of COROP regions": ("som van de COROP-gebieden", "sum of COROP regions"),
    "sum of members (corop)": ("som van de leden (COROP-gebieden)", "sum of members (COROP regions)"),
    "flows across the border": ("stromen over de grens", "flows across the border"),
}

STATUSES: dict[str, tuple[str, str]] = {
    "definitief": ("definitief", "final"),
    "voorlopig": ("voorlopig", "provisional"),
    "nader voorlopig": ("nader voorlopig", "revised provisional"),
    "onbekend": ("onbekend", "unknown"),
}

VERDICTS: dict[str, tuple[str, str]] = {
    "supported": ("bevestigd", "supported"),
    "contradicted": ("tegengesproken", "contradicted"),
    "unverifiable": ("niet te controleren", "unverifiable"),
    "proxy": ("alleen met een benadering", "consistent only with a proxy"),
    "definition": ("verschilt in definitie", "differs by definition"),
}


def bilingual(pair: tuple[str, str]) -> str:
    """'Dutch / English', or just one when both are the same word."""
    dutch, english = pair
    return dutch if dutch == english else f"{dutch} / {english}"


def label(table: dict[str, tuple[str, str]], code: str | None) -> str:
    if code is None:
        return "—"
    return bilingual(table.get(code, (code, code)))


def level_label(level: str) -> str:
    return label(LEVELS, level)


def format_number(value: float | None, decimals: int = 0) -> str:
    """Dutch notation: 118.000 and 13,8 (the way CBS prints figures in Dutch)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")


def format_plain(value: float) -> str:
    """A stated figure as a document would print it: 18.400, 16,5, 17,73 (no padding zeros)."""
    if float(value).is_integer():
        return format_number(value)
    return format_number(value, 2).rstrip("0").rstrip(",")


def decimals_for(value: float, unit: str) -> int:
    """Shares and rates per 1 000 get one decimal, counts none, other ratios two: enough to read, no false
    precision."""
    if unit in ("%", "per 1 000 inhabitants"):
        return 1
    if float(value).is_integer():
        return 0
    return 2


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    text = format_number(value, decimals_for(value, unit))
    return f"{text}%" if unit == "%" else text
