"""CBS code conventions: region and period codes, units and statuses.

CBS writes the same thing several ways (padded v3 keys, "x 1 000" units, "NaderVoorlopig"
and "Nader voorlopig"); everything downstream sees one spelling, decided here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

REGION_LEVELS = {
    "NL": "land",
    "LD": "landsdeel",
    "PV": "provincie",
    "CR": "corop",
    "GM": "gemeente",
    "AM": "arbeidsmarktregio",
    "WK": "wijk",
    "BU": "buurt",
}

PERIOD_TYPES = {"JJ": "jaar", "KW": "kwartaal", "MM": "maand", "HJ": "halfjaar", "X0": "overig"}
_PERIOD = re.compile(r"^(\d{4})(JJ|KW|MM|HJ|X0|W1)(\d{2})$")

PERIOD_STATUSES = ("definitief", "voorlopig", "nader voorlopig", "onbekend")
VALUE_ATTRIBUTES = ("None", "Impossible", "Confidential", "NotAvailable")

_STATUS_SPELLINGS = {
    "definitief": "definitief",
    "voorlopig": "voorlopig",
    "nadervoorlopig": "nader voorlopig",
    "nader voorlopig": "nader voorlopig",
}

# The same region under another code: the Kerncijfers wijken en buurten tables (84799NED, ...) write the
# country as NL00, every other table as NL01. Facts keep the code as published; indicators read the one code.
REGION_ALIASES = {"NL00": "NL01"}


def canonical_region_code(code: str) -> str:
    return REGION_ALIASES.get(code, code)


def region_level(code: str) -> str | None:
    return REGION_LEVELS.get(code[:2]) if code else None


@dataclass(frozen=True)
class Period:
    code: str
    year: int
    period_type: str  # jaar | kwartaal | maand | halfjaar | overig
    number: int


def parse_period(code: str) -> Period | None:
    """``2020JJ00`` -> year 2020, jaar, 0; None when the code is not a CBS period code."""
    m = _PERIOD.match(code.strip())
    if not m:
        return None
    year, kind, num = m.groups()
    return Period(code=code.strip(), year=int(year), period_type=PERIOD_TYPES.get(kind, "overig"), number=int(num))


def normalise_status(status: str | None) -> str:
    if status is None:
        return "onbekend"
    return _STATUS_SPELLINGS.get(status.strip().lower(), "onbekend")


_SCALE = re.compile(r"^\s*x\s*([\d\s.]+)\s*(.*)$", re.IGNORECASE)


@dataclass(frozen=True)
class Unit:
    published: str  # as CBS writes it, e.g. "x 1 000"
    scale: int  # factor that turns a published value into units of ``base``
    base: str  # what one counts after scaling: "aantal", "euro", "%", ...


def parse_unit(unit: str | None) -> Unit:
    """``"x 1 000"`` -> scale 1000, base "aantal"; ``"x 1 000 euro"`` -> 1000, "euro"."""
    text = (unit or "").strip()
    m = _SCALE.match(text)
    if m:
        digits = re.sub(r"[\s.]", "", m.group(1))
        return Unit(published=text, scale=int(digits or 1), base=m.group(2).strip() or "aantal")
    return Unit(published=text, scale=1, base=text or "onbekend")


def scaled_decimals(decimals: int | None, scale: int) -> int:
    """Decimals that remain meaningful after multiplying out (62.2 x 1 000 -> 62200, 0 decimals)."""
    return max(0, (decimals or 0) - (len(str(scale)) - 1))
