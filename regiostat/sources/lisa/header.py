"""Where a LISA export's header is, which shape it has, and where its data end and the footer begins.

Two shapes are read: ``overview`` (one row per municipality and year: Gemeente, Jaar, Banen totaal,
optional fulltime / parttime banen and Vestigingen totaal) and ``sector_series`` (sector rows x year
columns with a gemeente and/or gemeentecode column). Title rows above the header are tolerated; only
exact header texts count, so a renamed column is a missing column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from regiostat.sources.lisa.cells import Row, blank, norm, text, whole_number
from regiostat.sources.lisa.errors import LisaFileError

HEADER_SEARCH_ROWS = 30  # title rows above the header are tolerated up to here

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
_ROLE_OF = {label: role for role, labels in _HEADER_ROLES.items() for label in labels}
_COLUMN_LABEL = {"name": "Gemeente (or Gemeentecode)", "year": "Jaar", "jobs_total": "Banen totaal",
                 "sector": "Sector", "years": "year columns (e.g. 2016)"}


@dataclass
class Header:
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


def classify(index: int, row: int, names: list[str]) -> Header:
    roles: dict[str, list[int]] = {}
    years: dict[int, int] = {}
    for col, name in enumerate(names):
        key = norm(name)
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
    return Header(index, row, names, roles, years, shape)


def find_header(rows: list[Row]) -> tuple[Header | None, Header | None]:
    """(complete header, best partial candidate). A header may span two rows when the upper
    row is a merged group label ("Banen" over "totaal | fulltime | parttime")."""
    best: Header | None = None
    for i, (rownum, cells) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        names = [text(c) if not blank(c) else "" for c in cells]
        candidates = [classify(i, rownum, names)]
        if i > 0:
            upper = [text(c) if not blank(c) else "" for c in rows[i - 1][1]]
            upper += [""] * (len(names) - len(upper))
            joined = [lo if not up or norm(up) == norm(lo) else (up if not lo else f"{up} {lo}")
                      for up, lo in zip(upper, names, strict=False)]
            candidates.append(classify(i, rownum, joined))
        for cand in candidates:
            if cand.shape:
                return cand, best
            if cand.roles and cand.found >= 2 and (best is None or cand.found > best.found):
                best = cand
    return None, best


def no_header_error(partial: Header | None, filename: str, first_line: str | None = None) -> LisaFileError:
    """Why no header was found: a duplicated column, a missing one, or nothing that looks like a header
    (then the first line is shown, so a wrong delimiter or a missing header row is plain to see)."""
    if partial is not None and partial.duplicated:
        return LisaFileError(filename, "duplicate_column", f"column given twice: {partial.duplicated}",
                             row=partial.row, column=partial.duplicated[0])
    if partial is not None:
        return LisaFileError(filename, "missing_column", f"header at row {partial.row} lacks "
                             f"{', '.join(partial.missing())}; it has {[n for n in partial.names if n]}",
                             row=partial.row, column=partial.missing()[0])
    shown = f"; the first line reads {first_line[:80]!r} (fields separated by tab, ';' or ',')" if first_line else ""
    return LisaFileError(filename, "no_header", "no header row with Gemeente, Jaar and Banen totaal "
                         f"(or Gemeente, Sector and year columns) in the first {HEADER_SEARCH_ROWS} rows{shown}")


# -- body: data rows and the footer ----------------------------------------------------------

def _looks_like_data(cells: list[Any], width: int) -> bool:
    filled = [c for c in cells if not blank(c)]
    return len(cells) >= width and len(filled) >= 2 and any(whole_number(c) is not None for c in filled)


def split_body(rows: list[Row], header: Header, filename: str, text_lines: list[str] | None
               ) -> tuple[list[Row], str, list[LisaFileError]]:
    """Data rows run from the header to the first blank row; what follows is the footer. Rows of the
    wrong shape are set aside as problems (every one of them, so all are reported); rows right under the
    header that repeat it (a header merged over two rows) belong to the header."""
    width = len(header.names)
    data: list[Row] = []
    problems: list[LisaFileError] = []
    footer_at: int | None = None
    body = _below_header(rows[header.index + 1:], header, filename)
    for rownum, cells in body:
        if footer_at is not None:
            if _looks_like_data(cells, width):
                problems.append(LisaFileError(filename, "row_shape", f"data row after the blank line at row "
                                              f"{footer_at}; blank rows inside the data are not allowed", row=rownum))
            continue
        if all(blank(c) for c in cells):
            if data:
                footer_at = rownum
            continue
        extra = cells[width:]
        if len(cells) < width or any(not blank(c) for c in extra):
            problems.append(LisaFileError(filename, "row_shape", f"{len(cells)} fields where the header at row "
                                          f"{header.row} has {width} (wrong delimiter or quoting?)", row=rownum))
            continue
        data.append((rownum, cells[:width]))
    if not data and not problems:
        raise LisaFileError(filename, "no_data", "no data rows under the header", row=header.row)
    return data, _footer(rows, footer_at, text_lines), problems


def _below_header(rows: list[Row], header: Header, filename: str) -> list[Row]:
    """Skip rows that repeat the header word for word (cells merged down from it); a row that repeats only
    some of it is a header over two rows that did not read as one, and is refused saying so."""
    labels = [norm(n) for n in header.names]
    for i, (rownum, cells) in enumerate(rows):
        repeats = [header.names[c] for c, v in enumerate(cells[:len(labels)])
                   if not blank(v) and whole_number(v) is None and labels[c] and norm(v) == labels[c]]
        if not repeats:
            return rows[i:]
        if len(repeats) < sum(not blank(v) for v in cells):
            raise LisaFileError(filename, "merged_header", f"row {rownum} repeats {repeats} from the header row "
                                f"{header.row} above it, with other text beside it: a header over two rows whose "
                                "merged cells do not read as one header; make the header one row (e.g. "
                                "'Banen totaal', 'Banen fulltime')", row=rownum, column=repeats[0])
    return []


def _footer(rows: list[Row], footer_at: int | None, text_lines: list[str] | None) -> str:
    if footer_at is None:
        return ""
    if text_lines is not None:
        lines = text_lines[footer_at - 1:]
    else:
        lines = [" ".join(text(c) for c in cells if not blank(c)) for n, cells in rows if n > footer_at]
    return "\n".join(line.rstrip() for line in lines).strip("\n")
