"""LISA employment-register exports (CSV, TSV, XLSX) -> one tidy frame of observations.

LISA counts jobs ("banen" = fulltimers + parttimers + uitzendkrachten) and establishments
per municipality on 1 April. Exports identify municipalities by *name*, so every name is
mapped to a CBS code through a lookup built from the CBS RegioS code list; a name that does
not map to exactly one code is an error, never a guess.

Two shapes are read, from text or from the first sheet of an XLSX workbook:

* ``overview``: one row per municipality and year (Gemeente, Jaar, Banen totaal, optional
  fulltime / parttime banen and Vestigingen totaal);
* ``sector_series``: sector rows x year columns with a gemeente and/or gemeentecode
  column, usually with a Totaal row that must equal the sum of the sectors.

Decisions:

* Encoding: UTF-8 (BOM optional) or UTF-16 with BOM. A file that is not UTF-8 is read as
  cp1252 (what Dutch Excel writes for "CSV (puntkomma)") only if it is valid cp1252 *and*
  holds no UTF-8 multi-byte sequence (which would mean mixed encodings); otherwise it is
  refused naming the line of the first bad byte. Mis-decoded names cannot slip through:
  every name must still match a CBS title.
* Numbers: counts must be whole numbers written plainly ("45390"). "45.390" or "45,390"
  is refused: it is either a thousands separator or a decimal mark and the file does not
  say which. Empty cells are refused too (LISA exports do not leave counts empty).
* Names: case, accents, punctuation and CBS's " (gemeente)" suffix are ignored; province
  qualifiers count ("Bergen (NH.)"). A bare name matches a qualified CBS title ("Beek" ->
  "Beek (L.)") only if exactly one municipality of that name existed in the file's year.
  Two fixed aliases (Den Haag, Den Bosch); nothing fuzzy.
* Every broken file raises :class:`LisaFileError` naming the file, row, column and rule.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import math
import re
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from regiostat.landing.zone import LandingEntry, LandingError, LandingZone, safe_part
from regiostat.regions.boundaries import lifetimes

MAX_BYTES = 50 * 2**20  # refuse larger files before reading them
MAX_UNZIPPED = 200 * 2**20  # XLSX: total uncompressed size of the zip members
MAX_ZIP_RATIO = 100  # XLSX: uncompressed / compressed, per member of more than 1 MiB
MAX_VALUE = 2_000_000  # more jobs or establishments than this in one municipality is absurd
YEARS = range(1990, 2101)
HEADER_SEARCH_ROWS = 30  # title rows above the header are tolerated up to here
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

MEASURES = ("jobs_total", "jobs_fulltime", "jobs_parttime", "establishments_total", "jobs_sector")

# Normalised header text -> role. Only exact matches count: a renamed column is missing.
_HEADER_ROLES = {
    "name": {"gemeente", "gemeentenaam", "naam gemeente", "gemeente naam", "regio", "regionaam"},
    "code": {"gemeentecode", "gemeente code", "code gemeente", "gm code", "gmcode", "cbs code", "regiocode"},
    "year": {"jaar", "year", "peiljaar"},
    "sector": {"sector", "sectoren", "bedrijfstak", "sbi sector", "branche"},
    "jobs_total": {"banen totaal", "totaal banen", "banen", "aantal banen", "banen totaal aantal"},
    "jobs_fulltime": {"banen fulltime", "fulltime banen", "banen fulltimers", "fulltimers", "fulltime",
                      "banen voltijd"},
    "jobs_parttime": {"banen parttime", "parttime banen", "banen parttimers", "parttimers", "parttime",
                      "banen deeltijd"},
    "establishments_total": {"vestigingen totaal", "totaal vestigingen", "vestigingen", "aantal vestigingen"},
}
_ROLE_OF = {text: role for role, texts in _HEADER_ROLES.items() for text in texts}
_COLUMN_LABEL = {"name": "Gemeente (or Gemeentecode)", "year": "Jaar", "jobs_total": "Banen totaal",
                 "sector": "Sector", "years": "year columns (e.g. 2016)"}
_TOTAL_LABELS = {"totaal", "totaal alle sectoren", "alle sectoren", "totaal generaal"}

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

# Well-known everyday names that CBS titles differently. Exact keys only; no fuzzy matching.
NAME_ALIASES = {"den haag": "s gravenhage", "den bosch": "s hertogenbosch"}


class LisaFileError(ValueError):
    """A LISA export was refused; ``rule`` says which check failed, row/column say where."""

    def __init__(self, filename: str, rule: str, detail: str, *, row: int | None = None,
                 column: str | None = None):
        self.filename, self.rule, self.row, self.column, self.detail = filename, rule, row, column, detail
        where = "".join([f", row {row}" if row is not None else "", f", column {column!r}" if column else ""])
        super().__init__(f"{filename}{where}: {rule}: {detail}")


@dataclass(frozen=True)
class LisaExport:
    # region_code, region_name_in_file, year, measure, sector, sbi_section, value, source_row
    observations: pl.DataFrame
    reference_date: date  # 1 April of the (latest) year: LISA's reference date
    attribution: str  # "Bron: LISA 2017" (or "Bron: LISA 2011-2016" for a series)
    notes: str  # the footer text as written, "" if the file has none
    shape: str  # overview | sector_series
    jobs_definition: str | None = None  # e.g. "fulltimers, parttimers en uitzendkrachten", from the footer
    years: tuple[int, ...] = ()
    file_format: str = "csv"  # csv | tsv | xlsx
    encoding: str | None = None  # utf-8 | utf-8-sig | utf-16 | cp1252; None for xlsx
    ignored_columns: tuple[str, ...] = ()

    @property
    def media_type(self) -> str:
        return {"xlsx": XLSX_MEDIA_TYPE, "tsv": "text/tab-separated-values"}.get(self.file_format, "text/csv")


# -- normalisation and the municipality lookup ---------------------------------------------

def _norm(text: object) -> str:
    """Lower case, accents dropped, punctuation -> single spaces: "'s-Gravenhage" -> "s gravenhage"."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return " ".join(re.sub(r"[^0-9a-z]+", " ", plain).split())


def normalise_municipality_name(name: str) -> str:
    """CBS adds " (gemeente)" where a province or city shares the name; province qualifiers
    like "(NH.)" are kept, so "Bergen" alone stays ambiguous."""
    return _norm(re.sub(r"\s*\(\s*gem(?:eente|\.)?\s*\)\s*$", "", str(name), flags=re.IGNORECASE))


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


class _Lookup:
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
            self.by_base.setdefault(_norm(re.sub(r"\s*\([^)]*\)\s*$", "", row["name"])), []).append(row)
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
        by_name: set[str] | None = None
        if name is not None:
            key = normalise_municipality_name(name)
            rows = self.by_name.get(key) or self.by_name.get(NAME_ALIASES.get(key, ""), [])
            by_name = {r["code"] for r in rows if self._valid(r, year)}
            if not by_name:  # "Beek" for CBS "Beek (L.)": only if the base name is unique in that year
                rows = rows + self.by_base.get(key, [])
                by_name = {r["code"] for r in self.by_base.get(key, []) if self._valid(r, year)}
            if code is None:
                if not by_name:
                    other = sorted({r["code"] for r in rows})
                    hint = f" (known as {', '.join(other)} but not in {year})" if other else ""
                    raise self._fail("unknown_municipality", f"no municipality named {name!r} in {year}{hint}",
                                     row, column)
                if len(by_name) > 1:
                    raise self._fail("ambiguous_municipality",
                                     f"{name!r} matches {', '.join(sorted(by_name))} in {year}; "
                                     "add the province (e.g. 'Bergen (NH.)') or a gemeentecode column", row, column)
                return next(iter(by_name))
        assert code is not None
        norm_code = f"GM{int(code):04d}" if code.isdigit() else code.upper()
        if not any(self._valid(r, year) for r in self.by_code.get(norm_code, [])):
            raise self._fail("unknown_municipality", f"no municipality with code {code!r} in {year}", row, column)
        if by_name and norm_code not in by_name:  # the name is known and points elsewhere
            raise self._fail("code_name_mismatch",
                             f"{name!r} is {', '.join(sorted(by_name))} in {year}, but the file says {code!r}",
                             row, column)
        return norm_code


# -- cells -----------------------------------------------------------------------------------

def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _whole_number(value: Any) -> int | None:
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


# -- reading bytes into rows -----------------------------------------------------------------

Row = tuple[int, list[Any]]  # (1-based line or sheet row, cells)


def _decode(content: bytes, filename: str) -> tuple[str, str]:
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return content.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise LisaFileError(filename, "encoding", f"not valid UTF-16 ({exc.reason})") from exc
    if b"\x00" in content:
        line = content[: content.index(b"\x00")].count(b"\n") + 1
        raise LisaFileError(filename, "encoding", "NUL byte in a text file (UTF-16 without BOM, or binary?)",
                            row=line)
    try:
        if content.startswith(b"\xef\xbb\xbf"):
            return content.decode("utf-8-sig"), "utf-8-sig"
        return content.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        bad = content[exc.start]
        has_utf8 = re.search(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}", content) is not None
        try:
            if not has_utf8:
                return content.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            pass
        why = "mixes UTF-8 with another encoding" if has_utf8 else "is neither UTF-8 nor cp1252"
        raise LisaFileError(filename, "encoding", f"byte {bad:#04x} is not UTF-8; the file {why}; "
                            "save it as UTF-8", row=line) from exc


def _text_rows(text: str, delimiter: str, filename: str, limit: int | None = None) -> list[Row]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"')
    rows = []
    try:
        for cells in itertools.islice(reader, limit):
            rows.append((reader.line_num, [c.strip() for c in cells]))
    except csv.Error as exc:
        raise LisaFileError(filename, "row_shape", f"unreadable quoting: {exc}", row=reader.line_num) from exc
    return rows


def _check_zip(content: bytes, filename: str, max_unzipped: int, max_ratio: float) -> None:
    """Refuse zip bombs from the declared sizes, before anything is decompressed.
    (zipfile never inflates a member past its declared size, so the declaration binds.)"""
    try:
        infos = zipfile.ZipFile(io.BytesIO(content)).infolist()
    except zipfile.BadZipFile as exc:
        raise LisaFileError(filename, "bad_xlsx", f"not a readable zip/XLSX file ({exc})") from exc
    total = sum(i.file_size for i in infos)
    if total > max_unzipped:
        raise LisaFileError(filename, "zip_bomb", f"members unpack to {total:,} bytes (limit {max_unzipped:,})")
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > 2**20 and ratio > max_ratio:
            raise LisaFileError(filename, "zip_bomb", f"member {info.filename} compresses {ratio:,.0f}:1 "
                                f"(limit {max_ratio}:1)")


def _xlsx_rows(content: bytes, filename: str) -> list[Row]:
    """The first sheet with any value; formulas give their cached value; merged cells are
    filled with their top-left value so merged header rows read like plain ones."""
    import openpyxl  # only needed for XLSX

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = openpyxl.load_workbook(io.BytesIO(content), data_only=True)
            formulas = openpyxl.load_workbook(io.BytesIO(content), data_only=False)
    except Exception as exc:  # openpyxl raises many types for broken packages
        raise LisaFileError(filename, "bad_xlsx", f"cannot open as XLSX ({type(exc).__name__}: {exc})") from exc
    sheet = next((ws for ws in values.worksheets
                  if any(not _blank(v) for r in ws.iter_rows(values_only=True) for v in r)), None)
    if sheet is None:
        raise LisaFileError(filename, "empty", "no sheet holds any value")
    for row in formulas[sheet.title].iter_rows():
        for cell in row:
            if cell.data_type == "f" and sheet[cell.coordinate].value is None:
                raise LisaFileError(filename, "formula_without_value",
                                    f"formula {cell.value!r} has no cached value (the workbook was never "
                                    "recalculated and saved by a spreadsheet program)",
                                    row=cell.row, column=cell.column_letter)
    grid = [list(r) for r in sheet.iter_rows(values_only=True)]
    for merged in sheet.merged_cells.ranges:
        top_left = grid[merged.min_row - 1][merged.min_col - 1]
        for r in range(merged.min_row - 1, merged.max_row):
            for c in range(merged.min_col - 1, merged.max_col):
                grid[r][c] = top_left
    return [(i + 1, cells) for i, cells in enumerate(grid)]


# -- header ----------------------------------------------------------------------------------

@dataclass
class _Header:
    index: int  # position in the row list
    row: int
    names: list[str]
    roles: dict[str, list[int]]
    years: dict[int, int]  # column -> year, for year-named columns
    shape: str | None  # None unless every required column is there exactly once

    @property
    def duplicated(self) -> list[str]:
        seen = list(self.years.values())
        return ([self.names[cols[1]] for cols in self.roles.values() if len(cols) > 1]
                + [str(y) for y in sorted(set(seen)) if seen.count(y) > 1])

    @property
    def found(self) -> int:
        return sum(len(v) for v in self.roles.values()) + len(self.years)

    def missing(self) -> list[str]:
        has = self.roles.keys()
        want = ["name"] + (["sector", "years"] if "sector" in has or self.years else ["year", "jobs_total"])
        present = {"name": "name" in has or "code" in has, "years": bool(self.years)}
        return [_COLUMN_LABEL[w] for w in want if not present.get(w, w in has)]


def _classify(index: int, row: int, names: list[str]) -> _Header:
    roles: dict[str, list[int]] = {}
    years: dict[int, int] = {}
    for col, name in enumerate(names):
        key = _norm(name)
        if key in _ROLE_OF:
            roles.setdefault(_ROLE_OF[key], []).append(col)
        elif re.fullmatch(r"\d{4}", key):
            years[col] = int(key)
    has_region = "name" in roles or "code" in roles
    shape = None
    if any(len(cols) > 1 for cols in roles.values()) or len(set(years.values())) < len(years):
        pass  # a merged group label ("Banen" over three columns) or a real duplicate: decided later
    elif has_region and "sector" in roles and years:
        shape = "sector_series"
    elif has_region and "year" in roles and "jobs_total" in roles:
        shape = "overview"
    return _Header(index, row, names, roles, years, shape)


def _find_header(rows: list[Row]) -> tuple[_Header | None, _Header | None]:
    """(complete header, best partial candidate). A header may span two rows when the upper
    row is a merged group label ("Banen" over "totaal | fulltime | parttime")."""
    best: _Header | None = None
    for i, (rownum, cells) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        names = [_text(c) if not _blank(c) else "" for c in cells]
        candidates = [_classify(i, rownum, names)]
        if i > 0:
            upper = [_text(c) if not _blank(c) else "" for c in rows[i - 1][1]]
            upper += [""] * (len(names) - len(upper))
            joined = [lo if not up or _norm(up) == _norm(lo) else (up if not lo else f"{up} {lo}")
                      for up, lo in zip(upper, names, strict=False)]
            candidates.append(_classify(i, rownum, joined))
        for cand in candidates:
            if cand.shape:
                return cand, best
            if cand.roles and cand.found >= 2 and (best is None or cand.found > best.found):
                best = cand
    return None, best


# -- body: data rows and the footer ----------------------------------------------------------

def _looks_like_data(cells: list[Any], width: int) -> bool:
    filled = [c for c in cells if not _blank(c)]
    return len(cells) >= width and len(filled) >= 2 and any(_whole_number(c) is not None for c in filled)


def _split_body(rows: list[Row], header: _Header, filename: str, text_lines: list[str] | None
                ) -> tuple[list[Row], str]:
    """Data rows run from the header to the first blank row; what follows is the footer."""
    width = len(header.names)
    data: list[Row] = []
    footer_at: int | None = None
    for rownum, cells in rows[header.index + 1:]:
        if footer_at is not None:
            if _looks_like_data(cells, width):
                raise LisaFileError(filename, "row_shape", f"data row after the blank line at row {footer_at}; "
                                    "blank rows inside the data are not allowed", row=rownum)
            continue
        if all(_blank(c) for c in cells):
            if data:
                footer_at = rownum
            continue
        extra = cells[width:]
        if len(cells) < width or any(not _blank(c) for c in extra):
            raise LisaFileError(filename, "row_shape", f"{len(cells)} fields where the header at row "
                                f"{header.row} has {width} (wrong delimiter or quoting?)", row=rownum)
        data.append((rownum, cells[:width]))
    if not data:
        raise LisaFileError(filename, "no_data", "no data rows under the header", row=header.row)
    if footer_at is None:
        return data, ""
    if text_lines is not None:
        lines = text_lines[footer_at - 1:]
    else:
        lines = [" ".join(_text(c) for c in cells if not _blank(c)) for n, cells in rows if n > footer_at]
    return data, "\n".join(line.rstrip() for line in lines).strip("\n")


# -- observations ----------------------------------------------------------------------------

class _Builder:
    def __init__(self, filename: str, lookup: _Lookup):
        self.filename, self.lookup = filename, lookup
        self.records: list[dict] = []
        self.seen: dict[tuple, int] = {}

    def fail(self, rule: str, detail: str, row: int, column: str | None) -> LisaFileError:
        return LisaFileError(self.filename, rule, detail, row=row, column=column)

    def year(self, value: Any, row: int, column: str) -> int:
        year = _whole_number(value)
        if year is None:
            raise self.fail("non_numeric", f"year {value!r} is not a whole number", row, column)
        if year not in YEARS:
            raise self.fail("year_range", f"year {year} outside {YEARS.start}..{YEARS.stop - 1}", row, column)
        return year

    def value(self, value: Any, row: int, column: str) -> float:
        if _blank(value):
            raise self.fail("missing_value", "empty cell where a count is required", row, column)
        number = _whole_number(value)
        if number is None:
            text = _text(value)
            if re.fullmatch(r"[+-]?\d{1,3}([.,]\d{3})+", text):
                detail = (f"{text!r} is ambiguous (thousands separator or decimal mark?); "
                          "LISA exports write plain integers such as 45390")
            else:
                detail = f"{value!r} is not a whole number"
            raise self.fail("non_numeric", detail, row, column)
        if number < 0:
            raise self.fail("negative_value", f"{number} is negative", row, column)
        if number > MAX_VALUE:
            raise self.fail("absurd_value", f"{number:,} is more than {MAX_VALUE:,} for one municipality",
                            row, column)
        return float(number)

    def region(self, header: _Header, cells: list[Any], year: int, row: int) -> tuple[str, str | None]:
        name = code = None
        if "name" in header.roles:
            col = header.roles["name"][0]
            if _blank(cells[col]):
                raise self.fail("missing_value", "no municipality name", row, header.names[col])
            name = _text(cells[col])
        if "code" in header.roles:
            col = header.roles["code"][0]
            if not _blank(cells[col]):
                code = _text(cells[col])
            elif name is None:
                raise self.fail("missing_value", "no municipality code", row, header.names[col])
        column = header.names[header.roles["name" if name is not None else "code"][0]]
        return self.lookup.resolve(name, code, year, row, column), name

    def add(self, region: str, name: str | None, year: int, measure: str, sector: str | None, value: float,
            row: int, column: str) -> None:
        key = (region, year, measure, sector)
        if key in self.seen:
            raise self.fail("duplicate_key", f"{region} {year} {measure}{f' {sector!r}' if sector else ''} "
                            f"already given at row {self.seen[key]}", row, column)
        self.seen[key] = row
        self.records.append({
            "region_code": region, "region_name_in_file": name, "year": year, "measure": measure,
            "sector": sector, "sbi_section": SBI_SECTIONS.get(_norm(sector)) if sector else None,
            "value": value, "source_row": row,
        })


def _overview(b: _Builder, header: _Header, data: list[Row]) -> None:
    year_col = header.roles["year"][0]
    measures = [m for m in MEASURES if m in header.roles]
    for row, cells in data:
        year = b.year(cells[year_col], row, header.names[year_col])
        region, name = b.region(header, cells, year, row)
        for measure in measures:
            col = header.roles[measure][0]
            b.add(region, name, year, measure, None, b.value(cells[col], row, header.names[col]), row,
                  header.names[col])


def _sector_series(b: _Builder, header: _Header, data: list[Row]) -> None:
    sector_col = header.roles["sector"][0]
    for col, year in header.years.items():
        if year not in YEARS:
            raise b.fail("year_range", f"year column {year} outside {YEARS.start}..{YEARS.stop - 1}",
                         header.row, header.names[col])
    totals: dict[tuple[str, int], tuple[float, int, str]] = {}
    sums: dict[tuple[str, int], float] = {}
    for row, cells in data:
        if _blank(cells[sector_col]):
            raise b.fail("missing_value", "no sector label", row, header.names[sector_col])
        label = _text(cells[sector_col])
        is_total = _norm(label) in _TOTAL_LABELS
        for col, year in header.years.items():
            region, name = b.region(header, cells, year, row)
            value = b.value(cells[col], row, header.names[col])
            if is_total:
                b.add(region, name, year, "jobs_total", None, value, row, header.names[col])
                totals[(region, year)] = (value, row, header.names[col])
            else:
                b.add(region, name, year, "jobs_sector", label, value, row, header.names[col])
                sums[(region, year)] = sums.get((region, year), 0.0) + value
    for (region, year), (total, row, column) in totals.items():
        diff = total - sums.get((region, year), 0.0)
        if diff != 0:  # exact: a Totaal must equal the sum of its sectors
            raise b.fail("sector_total_mismatch", f"{region} {year}: sectors sum to "
                         f"{sums.get((region, year), 0.0):,.0f} but Totaal is {total:,.0f} (difference {diff:+,.0f})",
                         row, column)


_SCHEMA = {"region_code": pl.String, "region_name_in_file": pl.String, "year": pl.Int32, "measure": pl.String,
           "sector": pl.String, "sbi_section": pl.String, "value": pl.Float64, "source_row": pl.Int32}


def read_lisa_export(content: bytes, filename: str, *, municipalities: pl.DataFrame, max_bytes: int = MAX_BYTES,
                     max_unzipped: int = MAX_UNZIPPED, max_zip_ratio: float = MAX_ZIP_RATIO) -> LisaExport:
    """Read one LISA-style export; raise :class:`LisaFileError` for anything doubtful."""
    if len(content) > max_bytes:
        raise LisaFileError(filename, "too_large", f"{len(content):,} bytes (limit {max_bytes:,})")
    if not content.strip() or content.strip() == b"\xef\xbb\xbf":
        raise LisaFileError(filename, "empty", "the file is empty")
    text_lines = None
    encoding = delimiter = None
    if content.startswith(b"PK\x03\x04"):
        _check_zip(content, filename, max_unzipped, max_zip_ratio)
        file_format, rows = "xlsx", _xlsx_rows(content, filename)
        header, partial = _find_header(rows)
    elif content.startswith(b"\xd0\xcf\x11\xe0") or filename.lower().endswith((".xlsx", ".xls", ".xlsm")):
        raise LisaFileError(filename, "bad_xlsx", "not an XLSX (zip) file; old .xls workbooks are not supported")
    else:
        text, encoding = _decode(content, filename)
        if not text.strip():
            raise LisaFileError(filename, "empty", "the file is empty")
        header = partial = None
        for delimiter in ("\t", ";", ","):  # header must split on the delimiter; first that fits wins
            header, cand = _find_header(_text_rows(text, delimiter, filename, HEADER_SEARCH_ROWS))
            if cand is not None and (partial is None or cand.found > partial.found):
                partial = cand
            if header:
                break
        if header:
            rows = _text_rows(text, delimiter, filename)
            text_lines = text.splitlines()
        file_format = "tsv" if delimiter == "\t" else "csv"
    if header is None:
        if partial is not None and partial.duplicated:
            raise LisaFileError(filename, "duplicate_column", f"column given twice: {partial.duplicated}",
                                row=partial.row, column=partial.duplicated[0])
        if partial is not None:
            raise LisaFileError(filename, "missing_column", f"header at row {partial.row} lacks "
                                f"{', '.join(partial.missing())}; it has {[n for n in partial.names if n]}",
                                row=partial.row, column=partial.missing()[0])
        raise LisaFileError(filename, "no_header", "no header row with Gemeente, Jaar and Banen totaal "
                            f"(or Gemeente, Sector and year columns) in the first {HEADER_SEARCH_ROWS} rows")
    data, notes = _split_body(rows, header, filename, text_lines)

    builder = _Builder(filename, _Lookup(municipalities, filename))
    if header.shape == "overview":
        _overview(builder, header, data)
    else:
        _sector_series(builder, header, data)
    observations = pl.DataFrame(builder.records, schema=_SCHEMA)
    years = tuple(sorted(set(observations["year"].to_list())))
    used = {c for cols in header.roles.values() for c in cols} | set(header.years)
    flat = " ".join(notes.split())
    definition = re.search(r"banen heeft betrekking op het totaal(?: aantal)? (.+?)\.", flat, re.IGNORECASE)
    return LisaExport(
        observations=observations,
        reference_date=date(years[-1], 4, 1),
        attribution=f"Bron: LISA {years[0]}" + (f"-{years[-1]}" if len(years) > 1 else ""),
        notes=notes,
        shape=header.shape,
        jobs_definition=definition[1] if definition else None,
        years=years,
        file_format=file_format,
        encoding=encoding,
        ignored_columns=tuple(n for i, n in enumerate(header.names) if i not in used and n),
    )


# -- landing ---------------------------------------------------------------------------------

def safe_landing_name(filename: str) -> str:
    """A basename that cannot leave the landing folder; names that try are refused, not repaired."""
    parts = filename.split("/")
    if (not filename or "\x00" in filename or "\\" in filename or filename.startswith("/")
            or re.match(r"^[A-Za-z]:", filename) or any(ord(c) < 32 for c in filename)
            or any(p.startswith(".") for p in parts) or not parts[-1]):
        raise LisaFileError(filename, "unsafe_name", "file names may not contain '..', '\\', NUL, control "
                            "characters, an absolute path or a hidden (dot) part")
    plain = "".join(c for c in unicodedata.normalize("NFKD", parts[-1]) if not unicodedata.combining(c))
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", plain)
    try:
        return safe_part(name, "file name")
    except LandingError as exc:
        raise LisaFileError(filename, "unsafe_name", str(exc)) from None


def land_lisa_file(landing: LandingZone, path: Path, *, municipalities: pl.DataFrame,
                   max_bytes: int = MAX_BYTES) -> LandingEntry:
    """Check a LISA export, then store it unchanged as one complete fetch.

    The fetch id is derived from the content hash, so landing the same bytes again (under
    any name) returns the existing entry instead of adding a second fetch.
    """
    path = Path(path)
    name = safe_landing_name(path.name)
    size = path.stat().st_size
    if size > max_bytes:
        raise LisaFileError(path.name, "too_large", f"{size:,} bytes (limit {max_bytes:,})")
    content = path.read_bytes()
    export = read_lisa_export(content, path.name, municipalities=municipalities, max_bytes=max_bytes)
    fetch_id = f"lisa-{hashlib.sha256(content).hexdigest()[:20]}"
    landed = landing.pages_of(fetch_id)
    if landed and fetch_id in landing.complete_fetches("LISA"):
        return landed[0]
    common = dict(source="lisa_export", vintage=str(export.years[-1]), note=export.attribution)
    entry = landed[0] if landed else landing.write(  # landed but not completed: a crash in between
        content, table_id="LISA", entity=export.shape, origin=path.name, fetch_id=fetch_id,
        media_type=export.media_type, filename=name, rows=export.observations.height, **common)
    landing.mark_complete("LISA", fetch_id, origin=path.name, rows=export.observations.height, **common)
    return entry
