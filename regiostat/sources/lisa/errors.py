"""The one error a LISA export is refused with: it names the file, row, column and rule."""

from __future__ import annotations

from regiostat.sources.protocol import SourceError


class LisaFileError(SourceError):
    """A LISA export was refused; ``rule`` says which check failed, row/column say where."""

    def __init__(self, filename: str, rule: str, detail: str, *, row: int | None = None,
                 column: str | None = None):
        self.filename, self.rule, self.row, self.column, self.detail = filename, rule, row, column, detail
        where = "".join([f", row {row}" if row is not None else "", f", column {column!r}" if column else ""])
        super().__init__(f"{filename}{where}: {rule}: {detail}")
