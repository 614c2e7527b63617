"""Municipality names (and codes) in a LISA export -> exactly one CBS code for the file's year.

LISA exports identify municipalities by *name*, so every name is mapped to a CBS code through a
lookup built from the CBS RegioS code list; a name that does not map to exactly one code is an
error, never a guess. Case, accents, punctuation and CBS's " (gemeente)" suffix are ignored;
province qualifiers count ("Bergen (NH.)"). A bare name matches a qualified CBS title ("Beek" ->
"Beek (L.)") only if exactly one municipality of that name existed in the file's year. Two fixed
aliases (Den Haag, Den Bosch); nothing fuzzy.
"""

from __future__ import annotations

import json
import re
from datetime import date

import polars as pl

from regiostat.landing.zone import LandingZone
from regiostat.regions.boundaries import lifetimes
from regiostat.sources.lisa.cells import formula_like, norm
from regiostat.sources.lisa.errors import LisaFileError
from regiostat.sources.protocol import SourceError

# Well-known everyday names that CBS titles differently. Exact keys only; no fuzzy matching.
NAME_ALIASES = {"den haag": "s gravenhage", "den bosch": "s hertogenbosch"}


def normalise_municipality_name(name: str) -> str:
    """CBS adds " (gemeente)" where a province or city shares the name; province qualifiers
    like "(NH.)" are kept, so "Bergen" alone stays ambiguous."""
    return norm(re.sub(r"\s*\(\s*gem(?:eente|\.)?\s*\)\s*$", "", str(name), flags=re.IGNORECASE))


def _lookup_year(d: date | None, *, last: bool) -> int | None:
    """A CBS start/end date -> the first/last year in which the municipality existed on 1 April."""
    if d is None:
        return None
    april = date(d.year, 4, 1)
    if last:  # abolished on d: it existed on 1 April of d.year only if d is after that
        return d.year if d > april else d.year - 1
    return d.year if d <= april else d.year + 1


def municipality_lookup_from_codes(codes_json_bytes: bytes) -> pl.DataFrame:
    """Name -> code lookup from a CBS v4 ``RegioSCodes`` response (GM codes only).

    Abolished municipalities are kept (old files name them); ``valid_from``/``valid_to`` are
    the years in which the municipality existed on 1 April, from the begin and abolition dates
    :func:`regiostat.regions.boundaries.lifetimes` reads in the Description ("Ontstaan per 01-01-2016",
    else "Begindatum 01-01-1998"; "Opgeheven per 01-01-2019"); null means open-ended.
    """
    codes = []
    for item in json.loads(codes_json_bytes)["value"]:
        code = str(item.get("Identifier", "")).strip()
        group = item.get("DimensionGroupId") or "GM"
        if not code.startswith("GM") or not group.startswith("GM"):  # drops e.g. the CPR (group OVERIG)
            continue
        codes.append((code, item["Title"], item.get("Description") or ""))
    rows = [{"code": r["code"], "name": r["name"], "valid_from": _lookup_year(r["begin_date"], last=False),
             "valid_to": _lookup_year(r["abolished_date"], last=True)}
            for r in lifetimes(codes).iter_rows(named=True)]
    return pl.DataFrame(rows, schema={"code": pl.String, "name": pl.String, "valid_from": pl.Int32,
                                      "valid_to": pl.Int32})


def municipality_lookup(zone: LandingZone) -> pl.DataFrame:
    """Names -> GM codes from the newest CBS v4 RegioS code list in the landing zone, of a complete fetch
    (an interrupted fetch's list may be what a later page would have contradicted)."""
    complete = set(zone.complete_fetches())
    lists = [e for e in zone.entries() if e.source == "cbs_v4" and e.entity == "RegioSCodes"
             and e.fetch_id in complete]
    if not lists:
        raise SourceError("LISA files name municipalities, and no CBS RegioS code list is in the landing zone to "
                          "look them up: materialize landing/cbs (partition 03759NED) first, or run full_refresh")
    return municipality_lookup_from_codes(zone.read_bytes(lists[-1]))


class MunicipalityLookup:
    """Resolves (name and/or code, year) to exactly one code, or says why not."""

    def __init__(self, df: pl.DataFrame, filename: str):
        missing = {"code", "name"} - set(df.columns)
        if missing:
            raise ValueError(f"municipalities lookup lacks columns {sorted(missing)}")
        self.filename = filename
        self.by_name: dict[str, list[dict]] = {}
        self.by_base: dict[str, list[dict]] = {}  # without a province qualifier: "Beek (L.)" -> "beek"
        self.by_code: dict[str, list[dict]] = {}
        for row in df.to_dicts():
            self.by_name.setdefault(normalise_municipality_name(row["name"]), []).append(row)
            self.by_base.setdefault(norm(re.sub(r"\s*\([^)]*\)\s*$", "", row["name"])), []).append(row)
            self.by_code.setdefault(row["code"], []).append(row)
        self._cache: dict[tuple, str] = {}

    @staticmethod
    def _valid(row: dict, year: int) -> bool:
        return ((row.get("valid_year") is None or row["valid_year"] == year)
                and (row.get("valid_from") is None or row["valid_from"] <= year)
                and (row.get("valid_to") is None or row["valid_to"] >= year))

    def resolve(self, name: str | None, code: str | None, year: int, row: int, column: str) -> str:
        key = (name, code, year)
        if key not in self._cache:
            self._cache[key] = self._resolve(name, code, year, row, column)
        return self._cache[key]

    def _fail(self, rule: str, detail: str, row: int, column: str) -> LisaFileError:
        return LisaFileError(self.filename, rule, detail, row=row, column=column)

    def _resolve(self, name: str | None, code: str | None, year: int, row: int, column: str) -> str:
        for given in (name, code):  # "=Noordenveld" normalises to "noordenveld": refuse it before it can match
            if formula_like(given):
                raise self._fail("formula_text", f"{given!r} begins like a spreadsheet formula; it names no "
                                 "municipality", row, column)
        by_name = self._codes_named(name, year) if name is not None else None
        if code is None:
            assert name is not None and by_name is not None
            return self._one_by_name(name, by_name, year, row, column)
        norm_code = f"GM{int(code):04d}" if code.isdigit() else code.upper()
        if not any(self._valid(r, year) for r in self.by_code.get(norm_code, [])):
            raise self._fail("unknown_municipality", f"no municipality with code {code!r} in {year}", row, column)
        if by_name and norm_code not in by_name:  # the name is known and points elsewhere
            raise self._fail("code_name_mismatch",
                             f"{name!r} is {', '.join(sorted(by_name))} in {year}, but the file says {code!r}",
                             row, column)
        return norm_code

    def _rows_named(self, name: str) -> list[dict]:
        key = normalise_municipality_name(name)
        return self.by_name.get(key) or self.by_name.get(NAME_ALIASES.get(key, ""), [])

    def _codes_named(self, name: str, year: int) -> set[str]:
        found = {r["code"] for r in self._rows_named(name) if self._valid(r, year)}
        if not found:  # "Beek" for CBS "Beek (L.)": only if the base name is unique in that year
            found = {r["code"] for r in self.by_base.get(normalise_municipality_name(name), [])
                     if self._valid(r, year)}
        return found

    def _one_by_name(self, name: str, codes: set[str], year: int, row: int, column: str) -> str:
        if not codes:
            rows = self._rows_named(name) + self.by_base.get(normalise_municipality_name(name), [])
            other = sorted({r["code"] for r in rows})
            hint = f" (known as {', '.join(other)} but not in {year})" if other else ""
            raise self._fail("unknown_municipality", f"no municipality named {name!r} in {year}{hint}", row, column)
        if len(codes) > 1:
            raise self._fail("ambiguous_municipality",
                             f"{name!r} matches {', '.join(sorted(codes))} in {year}; "
                             "add the province (e.g. 'Bergen (NH.)') or a gemeentecode column", row, column)
        return next(iter(codes))
