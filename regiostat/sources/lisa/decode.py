"""Bytes of a LISA export -> rows of cells: text encodings and delimiters, or the first sheet of an XLSX.

Encoding: UTF-8 (BOM optional) or UTF-16 with BOM. A file that is not UTF-8 is read as cp1252
(what Dutch Excel writes for "CSV (puntkomma)") only if it is valid cp1252 *and* holds no UTF-8
multi-byte sequence (which would mean mixed encodings); otherwise it is refused naming the line of
the first bad byte. Mis-decoded names cannot slip through: every name must still match a CBS title.
An XLSX is a zip: its declared sizes and its number of sheets are checked before anything is
inflated (zip bombs; 190 sheets of just under 1 MiB kept openpyxl busy past 600 s), and it is read
in openpyxl's read-only (streaming) mode, only the sheet it needs, within a time and row budget.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import time
import warnings
import zipfile

from regiostat.sources.lisa.cells import Row, blank
from regiostat.sources.lisa.errors import LisaFileError

MAX_BYTES = 50 * 2**20  # refuse larger files before reading them
MAX_UNZIPPED = 64 * 2**20  # XLSX: total uncompressed size of the zip members (a LISA workbook is a few MB)
MAX_ZIP_RATIO = 100  # XLSX: uncompressed / compressed, per member of more than 1 MiB
MAX_SHEETS = 16  # XLSX: worksheets in the workbook (an export has one, with a notes sheet or two)
XLSX_SECONDS = 60.0  # XLSX: reading the workbook, finding the sheet and reading it, at most
XLSX_MAX_ROWS = 200_000  # XLSX: rows of the sheet read (all Dutch municipalities x 30 years is ~12,000)
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_UTF8_SEQUENCE = rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}"


def decode(content: bytes, filename: str) -> tuple[str, str]:
    """(text, encoding name) of a text export, or LisaFileError naming the line of the first bad byte."""
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
        return _cp1252_or_refuse(content, filename, exc)


def _cp1252_or_refuse(content: bytes, filename: str, exc: UnicodeDecodeError) -> tuple[str, str]:
    line = content[: exc.start].count(b"\n") + 1
    bad = content[exc.start]
    has_utf8 = re.search(_UTF8_SEQUENCE, content) is not None
    try:
        if not has_utf8:
            return content.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        pass
    why = "mixes UTF-8 with another encoding" if has_utf8 else "is neither UTF-8 nor cp1252"
    raise LisaFileError(filename, "encoding", f"byte {bad:#04x} is not UTF-8; the file {why}; "
                        "save it as UTF-8", row=line) from exc


def text_rows(text: str, delimiter: str, filename: str, limit: int | None = None) -> list[Row]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"')
    rows = []
    try:
        for _ in itertools.count() if limit is None else range(limit):
            start = reader.line_num + 1  # a quoted line break makes a record span lines: name its first
            cells = next(reader, None)
            if cells is None:
                break
            rows.append((start, cells))  # as written: a leading tab or '=' must stay visible
    except csv.Error as exc:
        raise LisaFileError(filename, "row_shape", f"unreadable quoting: {exc}", row=reader.line_num) from exc
    return rows


def check_zip(content: bytes, filename: str, max_unzipped: int, max_ratio: float, max_sheets: int = MAX_SHEETS) -> None:
    """Refuse zip bombs from the declared sizes, before anything is decompressed.
    (zipfile never inflates a member past its declared size, so the declaration binds.)"""
    try:
        infos = zipfile.ZipFile(io.BytesIO(content)).infolist()
    except zipfile.BadZipFile as exc:
        raise LisaFileError(filename, "bad_xlsx", f"not a readable zip/XLSX file ({exc})") from exc
    total = sum(i.file_size for i in infos)
    if total > max_unzipped:
        raise LisaFileError(filename, "zip_bomb", f"members unpack to {total:,} bytes (limit {max_unzipped:,})")
    sheets = [i for i in infos if re.fullmatch(r"xl/worksheets/[^/]+\.xml", i.filename)]
    if len(sheets) > max_sheets:
        raise LisaFileError(filename, "too_many_sheets", f"{len(sheets)} worksheets (limit {max_sheets}); a LISA "
                            "export has one data sheet: save that sheet in a workbook of its own")
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > 2**20 and ratio > max_ratio:
            raise LisaFileError(filename, "zip_bomb", f"member {info.filename} compresses {ratio:,.0f}:1 "
                                f"(limit {max_ratio}:1)")


def xlsx_rows(content: bytes, filename: str, *, max_seconds: float = XLSX_SECONDS,
              max_rows: int = XLSX_MAX_ROWS) -> list[Row]:
    """The first sheet with any value, read in read-only mode; formulas give their cached value; merged
    cells are filled with their top-left value so merged header rows read like plain ones."""
    budget = _Budget(filename, time.monotonic() + max_seconds, max_seconds, max_rows)
    values, formulas = _open(content, filename, data_only=True), _open(content, filename, data_only=False)
    try:
        title = next((ws.title for ws in values.worksheets if _has_values(ws, budget)), None)
        if title is None:
            raise LisaFileError(filename, "empty", "no sheet holds any value")
        grid = _read_sheet(values[title], formulas[title], budget)
        merged = _merged_ranges(values[title])
    finally:
        values.close()
        formulas.close()
    width = max((len(r) for r in grid), default=0)
    grid = [r + [None] * (width - len(r)) for r in grid]
    for min_col, min_row, max_col, max_row in merged:
        if min_row > len(grid) or min_col > width:
            continue
        top_left = grid[min_row - 1][min_col - 1]
        for r in range(min_row - 1, min(max_row, len(grid))):
            for c in range(min_col - 1, min(max_col, width)):
                grid[r][c] = top_left
    return [(i + 1, cells) for i, cells in enumerate(grid)]


class _Budget:
    """How long and how far one workbook may be read; exceeding either refuses the file."""

    def __init__(self, filename: str, deadline: float, seconds: float, max_rows: int):
        self.filename, self.deadline, self.seconds, self.max_rows = filename, deadline, seconds, max_rows

    def check(self, row: int, title: str) -> None:
        if time.monotonic() > self.deadline:
            raise LisaFileError(self.filename, "xlsx_too_slow", f"reading the workbook took more than "
                                f"{self.seconds:g} s (sheet {title!r}, row {row}); save the data sheet alone as "
                                "CSV or XLSX")
        if row > self.max_rows:
            raise LisaFileError(self.filename, "xlsx_too_large", f"sheet {title!r} goes on past row "
                                f"{self.max_rows:,}; a LISA export has a few thousand rows")


def _open(content: bytes, filename: str, *, data_only: bool):
    import openpyxl  # only needed for XLSX

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=data_only)
    except Exception as exc:  # openpyxl raises many types for broken packages
        raise LisaFileError(filename, "bad_xlsx", f"cannot open as XLSX ({type(exc).__name__}: {exc})") from exc


def _sheet_rows(ws, values_only: bool):
    """Every row from row 1 and column 1 (so list positions are sheet rows), whatever <dimension> claims."""
    ws.reset_dimensions()  # a wrong or hostile <dimension ref> would pad or cut rows
    return ws.iter_rows(min_row=1, min_col=1, values_only=values_only)


def _has_values(ws, budget: _Budget) -> bool:
    for n, row in enumerate(_sheet_rows(ws, values_only=True), 1):
        budget.check(n, ws.title)
        if any(not blank(v) for v in row):
            return True
    return False


def _read_sheet(values, formulas, budget: _Budget) -> list[list]:
    """The sheet's cached values; a formula without a cached value (never recalculated) refuses the file."""
    grid = []
    pairs = zip(_sheet_rows(values, values_only=False), _sheet_rows(formulas, values_only=False), strict=False)
    for n, (vrow, frow) in enumerate(pairs, 1):
        budget.check(n, values.title)
        for vcell, fcell in zip(vrow, frow, strict=False):
            if getattr(fcell, "data_type", None) == "f" and vcell.value is None:
                raise LisaFileError(budget.filename, "formula_without_value",
                                    f"formula {fcell.value!r} has no cached value (the workbook was never "
                                    "recalculated and saved by a spreadsheet program)",
                                    row=n, column=fcell.column_letter)
        grid.append([c.value for c in vrow])
    return grid


_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*\bref="([A-Z]+[0-9]+:[A-Z]+[0-9]+)"')


def _merged_ranges(ws) -> list[tuple[int, int, int, int]]:
    """(min_col, min_row, max_col, max_row) of the sheet's merged cells. Read-only sheets do not parse
    them, so they are read from the sheet's XML (its size is bounded by the zip checks)."""
    from openpyxl.utils.cell import range_boundaries

    path, archive = getattr(ws, "_worksheet_path", None), getattr(ws.parent, "_archive", None)
    if path is None or archive is None:
        return []
    return [range_boundaries(ref.decode()) for ref in _MERGE.findall(archive.read(path))]
