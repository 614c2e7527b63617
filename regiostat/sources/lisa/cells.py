"""Cells of a LISA export: blank or not, as text, as a whole number, normalised for matching, formula-like."""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

Row = tuple[int, list[Any]]  # (1-based line or sheet row, cells)

# A spreadsheet runs a cell that begins with one of these as a formula (CSV / formula injection:
# "=HYPERLINK(...)", "=cmd|' /C calc'!A0", "@SUM(...)"); tab and CR hide such a start from the eye.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def norm(text: object) -> str:
    """Lower case, accents dropped, punctuation -> single spaces: "'s-Gravenhage" -> "s gravenhage"."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return " ".join(re.sub(r"[^0-9a-z]+", " ", plain).split())


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def formula_like(value: Any) -> bool:
    """Text that a spreadsheet would run as a formula, as written or once its spaces are trimmed."""
    return isinstance(value, str) and (value.startswith(FORMULA_STARTS) or value.strip().startswith(FORMULA_STARTS))


def whole_number(value: Any) -> int | None:
    """An integer written plainly (or an XLSX number with no fraction); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() else None
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        return int(value.strip())
    return None
