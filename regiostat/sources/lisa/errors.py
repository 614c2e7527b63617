"""The one error a LISA export is refused with: it names the file, row, column and rule.

A file is read to its end (up to :data:`MAX_PROBLEMS`) and refused with every problem found, so a file
with several bad rows is fixed in one go, not one row per run. ``rule``, ``row`` and ``column`` are
those of the first problem; ``problems`` lists them all.
"""

from __future__ import annotations

from regiostat.sources.protocol import SourceError

MAX_PROBLEMS = 20  # problems reported per file; reading stops there


class LisaFileError(SourceError):
    """A LISA export was refused; ``rule`` says which check failed, row/column say where."""

    def __init__(self, filename: str, rule: str, detail: str, *, row: int | None = None,
                 column: str | None = None, problems: list[LisaFileError] | None = None):
        self.filename, self.rule, self.row, self.column, self.detail = filename, rule, row, column, detail
        self.problems: list[LisaFileError] = problems or [self]
        super().__init__(f"{filename}{self.where}: {rule}: {detail}")

    @property
    def where(self) -> str:
        return "".join([f", row {self.row}" if self.row is not None else "",
                        f", column {self.column!r}" if self.column else ""])

    @classmethod
    def several(cls, filename: str, problems: list[LisaFileError], *, stopped: bool) -> LisaFileError:
        """One error for all problems of a file (in row order): the first one's rule and place, all listed."""
        problems = sorted(problems, key=lambda p: (p.row is None, p.row or 0))
        if len(problems) == 1 and not stopped:
            return problems[0]
        first, rest = problems[0], problems[1:]
        more = "; ".join(f"{p.where.lstrip(', ') or 'file'}: {p.rule}: {p.detail}" for p in rest)
        cut = f", reading stopped at the first {len(problems)}" if stopped else ""
        detail = f"{first.detail} (and {len(rest)} more problem(s){cut}: {more})"
        return cls(filename, first.rule, detail, row=first.row, column=first.column, problems=problems)

    def as_records(self) -> list[dict]:
        return [{"rule": p.rule, "row": p.row, "column": p.column, "detail": p.detail} for p in self.problems]
