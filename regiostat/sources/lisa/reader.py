"""One LISA employment-register export (CSV, TSV, XLSX) -> one tidy frame of observations.

LISA counts jobs ("banen" = fulltimers + parttimers + uitzendkrachten) and establishments per
municipality on 1 April. Numbers must be whole and written plainly ("45390"): "45.390" or
"45,390" is refused, as it is either a thousands separator or a decimal mark and the file does
not say which. Empty cells are refused too (LISA exports do not leave counts empty). A sector
series' Totaal row must equal the sum of its sectors exactly. Every broken file raises
:class:`LisaFileError` naming the file, row, column and rule of every problem found (up to
:data:`~regiostat.sources.lisa.errors.MAX_PROBLEMS`).

Text cells that a spreadsheet would run as a formula (they begin with ``=``, ``+``, ``-``, ``@``, tab
or CR: "=HYPERLINK(...)", "@SUM(...)", "=cmd|' /C calc'!A0") are refused, not stored neutralised: no
municipality name or sector label begins that way, so such a cell is an injection or a broken export,
and a neutralised copy ("'=...") would be a label the file never held, then shown in the warehouse
and the site. Refused, they never reach staging and never resolve to a municipality.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from regiostat.sources.lisa.cells import Row, blank, formula_like, text, whole_number
from regiostat.sources.lisa.decode import (
    MAX_BYTES,
    MAX_UNZIPPED,
    MAX_ZIP_RATIO,
    XLSX_MEDIA_TYPE,
    check_zip,
    decode,
    text_rows,
    xlsx_rows,
)
from regiostat.sources.lisa.errors import MAX_PROBLEMS, LisaFileError
from regiostat.sources.lisa.header import HEADER_SEARCH_ROWS, Header, find_header, no_header_error, split_body
from regiostat.sources.lisa.names import MunicipalityLookup
from regiostat.sources.lisa.sectors import is_total, sbi_section, sector_code

OTHER_DELIMITERS = ("|", ":", "^", "~", "!", "/")  # tried only to say why no header was found
MAX_VALUE = 2_000_000  # more jobs or establishments than this in one municipality is absurd
YEARS = range(1990, 2101)
MEASURES = ("jobs_total", "jobs_fulltime", "jobs_parttime", "establishments_total", "jobs_sector")
OBSERVATION_SCHEMA = {"region_code": pl.String, "region_name_in_file": pl.String, "year": pl.Int32,
                      "measure": pl.String, "sector": pl.String, "sbi_section": pl.String, "value": pl.Float64,
                      "source_row": pl.Int32}


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


@dataclass(frozen=True)
class _Grid:
    """The file as rows of cells, with its header found."""

    rows: list[Row]
    header: Header
    text_lines: list[str] | None  # the decoded lines of a text file (the footer is kept as written)
    file_format: str
    encoding: str | None


class _Builder:
    def __init__(self, filename: str, lookup: MunicipalityLookup, problems: list[LisaFileError]):
        self.filename, self.lookup = filename, lookup
        self.records: list[dict] = []
        self.seen: dict[tuple, int] = {}
        self.problems = problems  # every problem so far; reading stops at MAX_PROBLEMS

    def fail(self, rule: str, detail: str, row: int, column: str | None) -> LisaFileError:
        return LisaFileError(self.filename, rule, detail, row=row, column=column)

    @property
    def full(self) -> bool:
        return len(self.problems) >= MAX_PROBLEMS

    def note(self, problem: LisaFileError) -> None:
        self.problems.extend(problem.problems)

    def label(self, value: Any, row: int, column: str) -> str:
        """A text cell that names something (a municipality, its code, a sector), never a formula."""
        if formula_like(value):
            first = value[:1] if value[:1] in "\t\r" else value.strip()[:1]
            raise self.fail("formula_text", f"{value!r} begins with {first!r}: a "
                            "spreadsheet would run it as a formula; no name or label begins that way, so the "
                            "file is refused (not stored neutralised)", row, column)
        return text(value)

    def year(self, value: Any, row: int, column: str) -> int:
        year = whole_number(value)
        if year is None:
            raise self.fail("non_numeric", f"year {value!r} is not a whole number", row, column)
        if year not in YEARS:
            raise self.fail("year_range", f"year {year} outside {YEARS.start}..{YEARS.stop - 1}", row, column)
        return year

    def value(self, value: Any, row: int, column: str) -> float:
        if blank(value):
            raise self.fail("missing_value", "empty cell where a count is required", row, column)
        number = whole_number(value)
        if number is None:
            shown = text(value)
            if re.fullmatch(r"[+-]?\d{1,3}([.,]\d{3})+", shown):
                detail = (f"{shown!r} is ambiguous (thousands separator or decimal mark?); "
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

    def region(self, header: Header, cells: list[Any], year: int, row: int) -> tuple[str, str | None]:
        name = code = None
        if "name" in header.roles:
            col = header.roles["name"][0]
            if blank(cells[col]):
                raise self.fail("missing_value", "no municipality name", row, header.names[col])
            name = self.label(cells[col], row, header.names[col])
        if "code" in header.roles:
            col = header.roles["code"][0]
            if not blank(cells[col]):
                code = self.label(cells[col], row, header.names[col])
            elif name is None:
                raise self.fail("missing_value", "no municipality code", row, header.names[col])
        column = header.names[header.roles["name" if name is not None else "code"][0]]
        return self.lookup.resolve(name, code, year, row, column), name

    def add(self, region: str, name: str | None, year: int, measure: str, sector: str | None, value: float,
            row: int, column: str) -> None:
        # sectors are told apart by their code: two labels that differ only in case or punctuation are one sector
        key = (region, year, measure, sector_code(sector) if sector else None)
        if key in self.seen:
            raise self.fail("duplicate_key", f"{region} {year} {measure}{f' {sector!r}' if sector else ''} "
                            f"already given at row {self.seen[key]}", row, column)
        self.seen[key] = row
        self.records.append({
            "region_code": region, "region_name_in_file": name, "year": year, "measure": measure,
            "sector": sector, "sbi_section": sbi_section(sector) if sector else None,
            "value": value, "source_row": row,
        })


def _overview(b: _Builder, header: Header, data: list[Row]) -> None:
    year_col = header.roles["year"][0]
    measures = [m for m in MEASURES if m in header.roles]
    for row, cells in data:
        if b.full:
            return
        try:
            year = b.year(cells[year_col], row, header.names[year_col])
            region, name = b.region(header, cells, year, row)
        except LisaFileError as exc:
            b.note(exc)
            continue
        for measure in measures:
            col = header.roles[measure][0]
            try:
                b.add(region, name, year, measure, None, b.value(cells[col], row, header.names[col]), row,
                      header.names[col])
            except LisaFileError as exc:
                b.note(exc)


def _sector_series(b: _Builder, header: Header, data: list[Row]) -> None:
    sector_col = header.roles["sector"][0]
    years = {}
    for col, year in header.years.items():
        if year in YEARS:
            years[col] = year
        else:
            b.note(b.fail("year_range", f"year column {year} outside {YEARS.start}..{YEARS.stop - 1}",
                          header.row, header.names[col]))
    totals: dict[tuple[str, int], tuple[float, int, str]] = {}
    sums: dict[tuple[str, int], float] = {}
    for row, cells in data:
        if b.full:
            return
        try:
            if blank(cells[sector_col]):
                raise b.fail("missing_value", "no sector label", row, header.names[sector_col])
            label = b.label(cells[sector_col], row, header.names[sector_col])
        except LisaFileError as exc:
            b.note(exc)
            continue
        for col, year in years.items():
            try:
                _sector_cell(b, header, cells, row, col, year, label, totals, sums)
            except LisaFileError as exc:
                b.note(exc)
    if not b.problems:  # with rows refused, the sums are short: a mismatch would only repeat those problems
        _check_totals(b, totals, sums)


def _sector_cell(b: _Builder, header: Header, cells: list[Any], row: int, col: int, year: int, label: str,
                 totals: dict, sums: dict) -> None:
    region, name = b.region(header, cells, year, row)
    value = b.value(cells[col], row, header.names[col])
    if is_total(label):
        b.add(region, name, year, "jobs_total", None, value, row, header.names[col])
        totals[(region, year)] = (value, row, header.names[col])
    else:
        b.add(region, name, year, "jobs_sector", label, value, row, header.names[col])
        sums[(region, year)] = sums.get((region, year), 0.0) + value


def _check_totals(b: _Builder, totals: dict[tuple[str, int], tuple[float, int, str]],
                  sums: dict[tuple[str, int], float]) -> None:
    for (region, year), (total, row, column) in totals.items():
        diff = total - sums.get((region, year), 0.0)
        if diff != 0:  # exact: a Totaal must equal the sum of its sectors
            b.note(b.fail("sector_total_mismatch", f"{region} {year}: sectors sum to "
                          f"{sums.get((region, year), 0.0):,.0f} but Totaal is {total:,.0f} (difference {diff:+,.0f})",
                          row, column))


def read_lisa_export(content: bytes, filename: str, *, municipalities: pl.DataFrame, max_bytes: int = MAX_BYTES,
                     max_unzipped: int = MAX_UNZIPPED, max_zip_ratio: float = MAX_ZIP_RATIO) -> LisaExport:
    """Read one LISA-style export; raise :class:`LisaFileError` for anything doubtful."""
    if len(content) > max_bytes:
        raise LisaFileError(filename, "too_large", f"{len(content):,} bytes (limit {max_bytes:,})")
    if not content.strip() or content.strip() == b"\xef\xbb\xbf":
        raise LisaFileError(filename, "empty", "the file is empty")
    grid = _grid(content, filename, max_unzipped, max_zip_ratio)
    data, notes, problems = split_body(grid.rows, grid.header, filename, grid.text_lines)
    builder = _Builder(filename, MunicipalityLookup(municipalities, filename), problems)
    (_overview if grid.header.shape == "overview" else _sector_series)(builder, grid.header, data)
    if builder.problems:
        raise LisaFileError.several(filename, builder.problems[:MAX_PROBLEMS], stopped=builder.full)
    return _export(pl.DataFrame(builder.records, schema=OBSERVATION_SCHEMA), grid, notes)


def _grid(content: bytes, filename: str, max_unzipped: int, max_zip_ratio: float) -> _Grid:
    if content.startswith(b"PK\x03\x04"):
        check_zip(content, filename, max_unzipped, max_zip_ratio)
        rows = xlsx_rows(content, filename)
        header, partial = find_header(rows)
        if header is None:
            raise no_header_error(partial, filename)
        return _Grid(rows, header, None, "xlsx", None)
    if content.startswith(b"\xd0\xcf\x11\xe0") or filename.lower().endswith((".xlsx", ".xls", ".xlsm")):
        raise LisaFileError(filename, "bad_xlsx", "not an XLSX (zip) file; old .xls workbooks are not supported")
    decoded, encoding = decode(content, filename)
    if not decoded.strip():
        raise LisaFileError(filename, "empty", "the file is empty")
    header = partial = None
    for delimiter in ("\t", ";", ","):  # header must split on the delimiter; first that fits wins
        header, cand = find_header(text_rows(decoded, delimiter, filename, HEADER_SEARCH_ROWS))
        if cand is not None and (partial is None or cand.found > partial.found):
            partial = cand
        if header:
            return _Grid(text_rows(decoded, delimiter, filename), header, decoded.splitlines(),
                         "tsv" if delimiter == "\t" else "csv", encoding)
    raise _delimiter_error(decoded, filename) or no_header_error(partial, filename, _first_line(decoded))


def _delimiter_error(decoded: str, filename: str) -> LisaFileError | None:
    """A header that splits on a delimiter this reader does not take ('|', ':' ...) is named as such."""
    for delimiter in OTHER_DELIMITERS:
        header, _ = find_header(text_rows(decoded, delimiter, filename, HEADER_SEARCH_ROWS))
        if header is not None:
            return LisaFileError(filename, "delimiter", f"the header at row {header.row} is separated by "
                                 f"{delimiter!r}; LISA exports are read with a tab, ';' or ',' between fields: "
                                 "save the file as CSV (';' or ',') or as tab-separated text", row=header.row)
    return None


def _first_line(decoded: str) -> str:
    return next((line for line in decoded.splitlines() if line.strip()), "")


def _export(observations: pl.DataFrame, grid: _Grid, notes: str) -> LisaExport:
    header = grid.header
    years = tuple(sorted(set(observations["year"].to_list())))
    used = {c for cols in header.roles.values() for c in cols} | set(header.years)
    flat = " ".join(notes.split())
    definition = re.search(r"banen heeft betrekking op het totaal(?: aantal)? (.+?)\.", flat, re.IGNORECASE)
    return LisaExport(
        observations=observations,
        reference_date=date(years[-1], 4, 1),
        attribution=f"Bron: LISA {years[0]}" + (f"-{years[-1]}" if len(years) > 1 else ""),
        notes=notes,
        shape=header.shape or "",
        jobs_definition=definition[1] if definition else None,
        years=years,
        file_format=grid.file_format,
        encoding=grid.encoding,
        ignored_columns=tuple(n for i, n in enumerate(header.names) if i not in used and n),
    )
