"""A figure as written in a document -> its value and the interval its wording allows.

Documents round. "18.100 arbeidsplaatsen" does not say there were exactly 18,100 jobs, only that
the count was nearer 18,100 than 18,000 or 18,200; a check against data must compare intervals,
not points. The rules (each can be overridden per claim in a claims file):

* Locale is explicit per call. "nl": "." groups thousands, "," is the decimal comma ("18.100" =
  18100, "15,6" = 15.6, "1030" = "1.030" = 1030). "en": the reverse. A space also groups thousands.
  Groups must have exactly three digits, so "1.03" in "nl" is an error, not 1.03.
* Decimals: the last written decimal is the rounding unit ("15,6%" -> +-0.05, "20,3" -> +-0.05).
* Whole numbers of 100 or more (not percentages, not scaled): trailing zeros are read as
  rounding ("18.100" -> nearest 100, "22.420" and "910" -> nearest 10, "118.000" -> nearest 1000).
  This is the cautious reading: an exact count that happens to end in 0 gets a slightly wider
  interval (never a false conflict); a rounded figure is never held to an exactness it did not
  claim. Smaller whole numbers and whole percentages are read to the unit ("14%" -> +-0.5).
* Scaled table figures ("x 1 000"): the unit of the last written digit times the scale
  ("18,1" x 1 000 -> 18100 +-50).
* Hedges, with "unit" the rounding unit above: "ruim X" (a bit more than X) -> [X, X + unit]
  ("ruim 118.000" -> [118000, 119000]); "bijna X" -> [X - unit, X]; the reach is capped at 10% of X
  ("ruim 20.000" -> [20000, 22000], not 30000); "circa", "ca.", "ongeveer",
  "rond", "zo'n", "naar schatting" -> the rounding interval, but at least +-5% of X.
* Number words ("twee keer zoveel") -> nearest whole number (+-0.5).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

LOCALES = ("nl", "en")
APPROX_MIN_RELATIVE = Decimal("0.05")  # "circa X" allows at least +-5% of X
HEDGE_MAX_RELATIVE = Decimal("0.10")  # "ruim X" / "bijna X" reach at most 10% beyond X

_HEDGES = {  # longest first when matching
    "naar schatting": "about", "ongeveer": "about", "circa": "about", "rond de": "about",
    "rond": "about", "zo'n": "about", "ca.": "about", "ruim": "above", "bijna": "below",
}
_WORDS = {"een": 1, "één": 1, "twee": 2, "drie": 3, "vier": 4, "vijf": 5, "zes": 6, "zeven": 7,
          "acht": 8, "negen": 9, "tien": 10, "elf": 11, "twaalf": 12}
_SEPARATORS = {"nl": (".", ","), "en": (",", ".")}  # (thousands, decimal)


class FigureError(ValueError):
    """The written figure cannot be read under the given locale."""


@dataclass(frozen=True)
class Figure:
    value: float
    low: float
    high: float
    precision: str  # how the interval was derived, for the reader of a reconciliation report


def _number_pattern(locale: str) -> re.Pattern[str]:
    group, dec = (re.escape(s) for s in _SEPARATORS[locale])
    return re.compile(rf"[-−]?(?:\d{{1,3}}(?:[{group} ]\d{{3}})+|\d+)(?:{dec}\d+)?")


def parse_precision(text: str) -> Decimal:
    """A claims-file precision override -> rounding unit: "exact" -> 0, "nearest 10" -> 10,
    "nearest 0.1" -> 0.1 (machine notation, dot decimal, whatever the document's locale)."""
    text = text.strip().lower()
    if text == "exact":
        return Decimal(0)
    m = re.fullmatch(r"nearest\s+(\d+(?:\.\d+)?)", text)
    if not m or Decimal(m.group(1)) == 0:
        raise FigureError(f"precision {text!r}: expected 'exact' or 'nearest <number>', e.g. 'nearest 10'")
    return Decimal(m.group(1))


def _fmt(d: Decimal) -> str:
    return format(d.normalize(), "f")


def hedge_word(precision: str) -> str | None:
    """The hedge a claim's precision text names, as parse_figure writes it ("ca." for "ca.: rounded to
    1000, at least +-5% (...)", "ruim" for "ruim: [X, X + 1000] (...)"), else None."""
    word = precision.partition(":")[0]
    return word if word in _HEDGES else None


def _split_hedge(text: str) -> tuple[str | None, str, str]:
    low = text.lower()
    for word in sorted(_HEDGES, key=len, reverse=True):
        if low.startswith(word) and (len(low) == len(word) or low[len(word)].isspace() or word.endswith(".")):
            return word, _HEDGES[word], text[len(word):].lstrip()
    return None, "", text


def _digits_unit(whole: str, frac: str, percent: bool, scale: Decimal) -> tuple[Decimal, str]:
    """The rounding unit the written digits imply, and how it was read (see the module docstring)."""
    if frac:
        return Decimal(1).scaleb(-len(frac)) * scale, f"{len(frac)} decimal{'s' if len(frac) > 1 else ''}"
    if percent or scale != 1 or abs(int(whole)) < 100:
        return scale, "whole number"
    zeros = len(whole) - len(whole.rstrip("0"))
    return Decimal(10) ** zeros, "trailing zeros read as rounding" if zeros else "whole number"


def _read_number(written: str, rest: str, locale: str, scale: Decimal) -> tuple[Decimal, Decimal, str]:
    """(value, inferred rounding unit, how) of a figure written in digits or as a number word."""
    first = rest.split(maxsplit=1)[0].lower() if rest else ""
    if first in _WORDS:
        return Decimal(_WORDS[first]) * scale, scale, "number word"
    group, dec = _SEPARATORS[locale]
    m = _number_pattern(locale).match(rest)
    tail = rest[m.end():] if m else rest
    if not m or (tail and not (tail[0].isspace() or tail[0] == "%")):
        raise FigureError(f"{written!r}: no number readable in locale {locale!r} "
                          f"({group!r} groups thousands in threes, {dec!r} marks decimals)")
    digits = m.group(0).replace("−", "-").replace(group, "").replace(" ", "")
    whole, _, frac = digits.partition(dec)
    inferred, how = _digits_unit(whole, frac, tail.lstrip().startswith("%"), scale)
    if scale != 1:
        shown = f"{int(scale):,}".replace(",", " ") if scale == int(scale) else _fmt(scale)
        how = f"x {shown}, {how}"
    return Decimal(f"{whole}.{frac}" if frac else whole) * scale, inferred, how


def _bounds(kind: str, hedge: str | None, value: Decimal, step: Decimal, how: str) -> tuple[Decimal, Decimal, str]:
    """(low, high, precision text) for a value read to `step`, widened or shifted by its hedge."""
    if kind == "above":
        return value, value + step, f"ruim: [X, X + {_fmt(step)}] ({how})"
    if kind == "below":
        return value - step, value, f"bijna: [X - {_fmt(step)}, X] ({how})"
    half = step / 2
    text = "exact" if step == 0 else f"rounded to {_fmt(step)}"
    if kind == "about":
        half = max(half, abs(value) * APPROX_MIN_RELATIVE)
        text = f"{hedge}: {text}, at least +-5%"
    return value - half, value + half, f"{text} ({how})"


def parse_figure(written: str, *, locale: str, scale: float = 1, unit: Decimal | float | None = None) -> Figure:
    """Read `written` ("ruim 118.000", "15,6%", "20,3 arbeidsplaats/bedrijf", "twee keer zoveel").

    `scale` multiplies a table figure out ("x 1 000" -> 1000); `unit` overrides the rounding unit
    inferred from the digits (0 = exact), in the scaled result's terms.
    """
    if locale not in LOCALES:
        raise FigureError(f"locale {locale!r}: expected one of {LOCALES}")
    hedge, kind, rest = _split_hedge(written.strip())
    scale_d = Decimal(str(scale))
    if scale_d <= 0:
        raise FigureError(f"scale {scale}: must be positive")
    value, step, how = _read_number(written, rest, locale, scale_d)
    if unit is not None:
        step, how = Decimal(str(unit)), "override"
    if step < 0:
        raise FigureError(f"rounding unit {unit}: must not be negative")
    if kind in ("above", "below") and unit is None and step > abs(value) * HEDGE_MAX_RELATIVE:
        step, how = abs(value) * HEDGE_MAX_RELATIVE, f"{how}, capped at 10%"  # "ruim 20.000" is not 30.000
    low, high, text = _bounds(kind, hedge, value, step, how)
    return Figure(float(value), float(low), float(high), text)
