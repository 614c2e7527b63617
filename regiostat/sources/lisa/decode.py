"""Bytes of a LISA export -> rows of cells: text encodings and delimiters, or the first sheet of an XLSX.

Encoding: UTF-8 (BOM optional) or UTF-16 with BOM. A file that is not UTF-8 is read as cp1252
(what Dutch Excel writes for "CSV (puntkomma)") only if it is valid cp1252 *and* holds no UTF-8
multi-byte sequence (which would mean mixed encodings); otherwise it is refused naming the line of
the first bad byte. Mis-decoded names cannot slip through: every name must still match a CBS title.
An XLSX is a zip: its declared sizes are checked before anything is inflated (zip bombs).
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import warnings
import zipfile

from regiostat.sources.lisa.cells import Row, blank
from regiostat.sources.lisa.errors import LisaFileError

MAX_BYTES = 50 * 2**20  # refuse larger files before reading them
MAX_UNZIPPED = 200 * 2**20  # XLSX: total uncompressed size of the zip members
MAX_ZIP_RATIO = 100  # XLSX: uncompressed / compressed, per member of more than 1 MiB
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
        for cells in itertools.islice(reader, limit):
            rows.append((reader.line_num, [c.strip() for c in cells]))
    except csv.Error as exc:
        raise LisaFileError(filename, "row_shape", f"unreadable quoting: {exc}", row=reader.line_num) from exc
    return rows


def check_zip(content: bytes, filename: str, max_unzipped: int, max_ratio: float) -> None:
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


def xlsx_rows(content: bytes, filename: str) -> list[Row]:
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
                  if any(not blank(v) for r in ws.iter_rows(values_only=True) for v in r)), None)
    if sheet is None:
        raise LisaFileError(filename, "empty", "no sheet holds any value")
    _refuse_uncached_formulas(formulas[sheet.title], sheet, filename)
    grid = [list(r) for r in sheet.iter_rows(values_only=True)]
    for merged in sheet.merged_cells.ranges:
        top_left = grid[merged.min_row - 1][merged.min_col - 1]
        for r in range(merged.min_row - 1, merged.max_row):
            for c in range(merged.min_col - 1, merged.max_col):
                grid[r][c] = top_left
    return [(i + 1, cells) for i, cells in enumerate(grid)]


def _refuse_uncached_formulas(formulas, values, filename: str) -> None:
    for row in formulas.iter_rows():
        for cell in row:
            if cell.data_type == "f" and values[cell.coordinate].value is None:
                raise LisaFileError(filename, "formula_without_value",
                                    f"formula {cell.value!r} has no cached value (the workbook was never "
                                    "recalculated and saved by a spreadsheet program)",
                                    row=cell.row, column=cell.column_letter)
