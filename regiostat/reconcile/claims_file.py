"""Load published-claims files (config/claims/*.toml) into Claims (source_kind "document").

A claims file is itself a transcription of a document, so it is checked hard: unknown or
missing fields, unknown indicators and regions, unreadable figures, duplicate ids, and above
all quotes that do not occur verbatim in the document (at the stated line) are refused with a
ClaimsFileError naming the file, the claim and the field. The format is described in the
header of config/claims/dutch_techzone_strategische_koers_2022_2025.toml.

Change statements ("3.500 arbeidsplaatsen meer dan in 2016") become the quantity
Quantity("change:<indicator>", region, "<base_period>/<period>"), e.g. "2016/2020": the period
of a change is the pair of years it spans, so changes over different spans never collide, and a
"difference" rule can relate it to the two level quantities (model.change_quantity).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from regiostat.reconcile.model import CHANGE_PREFIX, Claim, Quantity, change_quantity, is_year
from regiostat.reconcile.precision import LOCALES, Figure, FigureError, parse_figure, parse_precision

UNKNOWN_PERIOD = "unknown"  # the document states no year; the claim is kept, matched to no year
REQUIRED = ("id", "document", "location", "quote", "written", "indicator", "region", "period")
OPTIONAL = ("unit", "precision", "interval", "scale", "reference_date", "base_period", "direction", "notes",
            "assumed_period")
OPTIONAL_TEXT = ("unit", "precision", "reference_date", "base_period", "direction", "notes", "assumed_period")
DOCUMENT_FIELDS = ("title", "publisher", "published", "locale", "notes")
DIRECTIONS = {"increase": 1, "decrease": -1}
# Source documents (the seed plans) ship in data/documents, laid out like the shared folder: seeds/<file>.

_LINE = re.compile(r"lines?\s+(\d+)")


class ClaimsFileError(ValueError):
    """A claims-file entry is malformed; says which file, which claim (id or position) and field."""

    def __init__(self, file: Path | str, claim: str, field: str, message: str) -> None:
        self.file, self.claim, self.field = str(file), claim, field
        super().__init__(f"{file}: claim {claim}: field {field!r}: {message}")


@lru_cache(maxsize=32)
def _normalise(text: str) -> tuple[str, list[int]]:
    """Collapse whitespace runs to one space (page layout breaks sentences over lines) and
    remember the 1-based line number of every kept character. Cached: every claim of a document
    searches the same text."""
    out: list[str] = []
    lines: list[int] = []
    line, in_space = 1, True
    for ch in text:
        if ch.isspace():
            if not in_space:
                out.append(" ")
                lines.append(line)
            in_space = True
            line += ch == "\n"
        else:
            out.append(ch)
            lines.append(line)
            in_space = False
    return "".join(out), lines


def quote_lines(quote: str, document_text: str) -> list[int]:
    """The lines where `quote` starts in the document, matched character for character except
    that any run of whitespace equals any other. Empty if the quote does not occur."""
    text, lines = _normalise(document_text)
    needle = " ".join(quote.split())
    starts, i = [], text.find(needle)
    while needle and i >= 0:
        starts.append(lines[i])
        i = text.find(needle, i + 1)
    return starts


# ---------------------------------------------------------------- the checks
# Each check returns an error message for its field, or None; they run in table order and the first
# failing one is reported, so a new rule is one function and one table row.

def _non_empty_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _iso_date_or_year(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(r"\d{4}(-\d{2}){0,2}", value) is not None


_DOCUMENT_CHECKS: tuple[tuple[str, Callable[[dict], str | None]], ...] = (
    ("title", lambda doc: None if _non_empty_text(doc.get("title")) else "missing or empty"),
    ("locale", lambda doc: None if _non_empty_text(doc.get("locale")) else "missing or empty"),
    ("locale", lambda doc: None if doc["locale"] in LOCALES else f"{doc['locale']!r}: expected one of {LOCALES}"),
    ("published", lambda doc: None if doc.get("published") is None or _iso_date_or_year(doc["published"])
     else "expected an ISO date or year as text, e.g. \"2021\""),
)


def _check_indicator(code: str, known: set[str]) -> str | None:
    """Error message, or None if the indicator code is acceptable."""
    if code.startswith("unmapped:"):
        return None if re.fullmatch(r"[a-z0-9_]+", code[9:]) else "unmapped:<name> needs a name of a-z, 0-9, _"
    base = code.removeprefix(CHANGE_PREFIX)
    return None if base in known else f"unknown indicator {base!r} (not in the indicator catalogue)"


class _Documents:
    """The documents claims quote, read once each from `root` (None when absent), and only from there: a
    claims file is hand-written, and its `document` must not make the loader read any other file."""

    def __init__(self, root: Path | None, required: bool) -> None:
        self.root, self.required = root, required
        self._texts: dict[str, str | None] = {}

    def outside(self, rel: str) -> str | None:
        """Why `rel` does not name a file inside the documents folder, or None if it does (or may)."""
        parts = rel.replace("\\", "/").split("/")
        if rel.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", rel) or any(p in ("", ".", "..") for p in parts):
            return (f"{rel!r} is not a plain path inside the documents folder (no absolute path, '..', '.' or "
                    "empty part)")
        if self.root is None:
            return None
        root = self.root.resolve()
        if not (self.root / rel).resolve().is_relative_to(root):  # a symbolic link out of the folder
            return f"{rel!r} leads out of the documents folder {self.root} (a symbolic link?)"
        return None

    def text(self, rel: str) -> str | None:
        if rel not in self._texts:
            file = self.root / rel if self.root is not None and self.outside(rel) is None else None
            self._texts[rel] = file.read_text(encoding="utf-8") if file is not None and file.is_file() else None
        return self._texts[rel]


@dataclass
class _Entry:
    """One [[claim]] table whose shape is already checked, with what its later checks share."""

    raw: dict[str, Any]
    locale: str
    known_indicators: set[str]
    known_regions: set[str]
    documents: _Documents

    @property
    def is_change(self) -> bool:
        return self.raw["indicator"].startswith(CHANGE_PREFIX)

    @cached_property
    def unit(self) -> Decimal | None:
        return parse_precision(self.raw["precision"]) if "precision" in self.raw else None

    @cached_property
    def figure(self) -> Figure:
        return parse_figure(self.raw["written"], locale=self.locale, scale=self.raw.get("scale", 1), unit=self.unit)

    @cached_property
    def quote_starts(self) -> list[int] | None:
        text = self.documents.text(self.raw["document"])
        return None if text is None else quote_lines(self.raw["quote"], text)


Check = Callable[[_Entry], str | None]


def _year_or_unknown(value: str, expected: str) -> str | None:
    if value == UNKNOWN_PERIOD or is_year(value):
        return None
    return f"{value!r}: expected {expected} or \"{UNKNOWN_PERIOD}\""


def _change_only(key: str) -> Check:
    def check(e: _Entry) -> str | None:
        if e.is_change and key not in e.raw:
            return f"required for a {CHANGE_PREFIX} indicator"
        if not e.is_change and key in e.raw:
            return f"only allowed for a {CHANGE_PREFIX} indicator"
        return None
    return check


def _assumed_period_error(raw: dict[str, Any]) -> str | None:
    """assumed_period: a year, and only for a claim whose period is unknown (a stated year needs no guess)."""
    if "assumed_period" not in raw:
        return None
    if raw["period"] != UNKNOWN_PERIOD:
        return f"only for a claim with period \"{UNKNOWN_PERIOD}\" (this one states {raw['period']!r})"
    return None if is_year(raw["assumed_period"]) else f"{raw['assumed_period']!r}: expected a year (\"2016\")"


def _figure_error(e: _Entry, part: str) -> str | None:
    """The FigureError message of reading the precision override or the written figure, if any."""
    try:
        getattr(e, part)
    except FigureError as exc:
        return str(exc)
    return None


def _scale_error(e: _Entry) -> str | None:
    scale = e.raw.get("scale", 1)
    ok = not isinstance(scale, bool) and isinstance(scale, (int, float)) and scale > 0
    return None if ok else "must be a positive number, e.g. 1000 for 'x 1 000'"


def _written_error(e: _Entry) -> str | None:
    if (msg := _figure_error(e, "figure")) is not None:
        return msg
    written, quote = e.raw["written"], e.raw["quote"]
    return None if " ".join(written.split()) in " ".join(quote.split()) else f"{written!r} does not occur in the quote"


def _interval_error(e: _Entry) -> str | None:
    if "interval" not in e.raw:
        return None
    iv, value = e.raw["interval"], e.figure.value
    ok = (isinstance(iv, list) and len(iv) == 2 and all(isinstance(x, (int, float)) for x in iv)
          and iv[0] <= value <= iv[1])
    return None if ok else f"expected [low, high] around the written value {value}"


def _document_error(e: _Entry) -> str | None:
    outside = e.documents.outside(e.raw["document"])
    if outside is not None:
        return outside
    missing = e.documents.required and e.documents.text(e.raw["document"]) is None
    return f"document not found under {e.documents.root}" if missing else None


def _location_error(e: _Entry) -> str | None:
    m = _LINE.match(e.raw["location"])
    starts = e.quote_starts
    if not starts or not m or int(m.group(1)) in starts:
        return None
    return f"the quote starts at line(s) {starts}, not line {m.group(1)}"


_ENTRY_CHECKS: tuple[tuple[str, Check], ...] = (
    ("indicator", lambda e: _check_indicator(e.raw["indicator"], e.known_indicators)),
    ("region", lambda e: None if e.raw["region"] in e.known_regions else f"unknown region {e.raw['region']!r}"),
    ("period", lambda e: _year_or_unknown(e.raw["period"], 'a year ("2020")')),
    ("base_period", _change_only("base_period")),
    ("direction", _change_only("direction")),
    ("base_period", lambda e: _year_or_unknown(e.raw["base_period"], "a year") if e.is_change else None),
    ("direction", lambda e: None if not e.is_change or e.raw["direction"] in DIRECTIONS
     else f"expected one of {sorted(DIRECTIONS)}"),
    ("assumed_period", lambda e: _assumed_period_error(e.raw)),
    ("precision", lambda e: _figure_error(e, "unit")),
    ("scale", _scale_error),
    ("written", _written_error),
    ("interval", _interval_error),
    ("document", _document_error),
    ("quote", lambda e: f"not found verbatim in {e.raw['document']} (check the transcription)"
     if e.quote_starts == [] else None),
    ("location", _location_error),
)


def _shape_errors(entry: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(field, message) for unknown fields, missing required text and optional fields that are not text."""
    yield from ((key, "unknown field") for key in entry if key not in REQUIRED and key not in OPTIONAL)
    yield from ((key, "missing, empty or not text") for key in REQUIRED if not _non_empty_text(entry.get(key)))
    yield from ((key, "must be text") for key in OPTIONAL_TEXT if key in entry and not isinstance(entry[key], str))


def _claim(e: _Entry, published: str | None) -> Claim:
    """The claim an entry that passed every check states."""
    raw, fig = e.raw, e.figure
    quantity = Quantity(raw["indicator"], raw["region"], raw["period"])
    if e.is_change:
        quantity = change_quantity(raw["indicator"].removeprefix(CHANGE_PREFIX), raw["region"], raw["base_period"],
                                   raw["period"])
    value, low, high, precision = fig.value, fig.low, fig.high, fig.precision
    if "interval" in raw:
        low, high, precision = float(raw["interval"][0]), float(raw["interval"][1]), "interval set in the claims file"
    if e.is_change and DIRECTIONS[raw["direction"]] < 0:
        value, low, high = -value, -high, -low
        precision += "; decrease"
    notes = raw.get("notes")
    if "reference_date" in raw:
        notes = f"Reference date: {raw['reference_date']}." + (f" {notes}" if notes else "")
    return Claim(claim_id=raw["id"], quantity=quantity, value=value, low=low, high=high, precision=precision,
                 source_kind="document", source=raw["document"], location=raw["location"], quote=raw["quote"],
                 vintage=published, notes=notes, assumed_period=raw.get("assumed_period"))


# ---------------------------------------------------------------- one file

def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ClaimsFileError(path, "-", "toml", str(e)) from None


def _check_document(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    """The [document] table, checked; raises ClaimsFileError naming the field."""
    for key in data:
        if key not in ("document", "claim"):
            raise ClaimsFileError(path, "-", key, "unknown top-level table (expected [document] and [[claim]])")
    doc = data.get("document")
    if not isinstance(doc, dict):
        raise ClaimsFileError(path, "[document]", "document",
                              "missing [document] table (title, publisher, published, locale)")
    for key in doc:
        if key not in DOCUMENT_FIELDS:
            raise ClaimsFileError(path, "[document]", key, f"unknown field (allowed: {', '.join(DOCUMENT_FIELDS)})")
    for key, check in _DOCUMENT_CHECKS:
        if (msg := check(doc)) is not None:
            raise ClaimsFileError(path, "[document]", key, msg)
    return doc


def _entry_label(entry: Any, position: int) -> str:
    """How errors name an entry: its id and position, or the position alone."""
    if isinstance(entry, dict) and _non_empty_text(entry.get("id")):
        return f"{entry['id']!r} (#{position})"
    return f"#{position}"


def _load_file(path: Path, *, known_indicators: set[str], known_regions: set[str],
               documents: _Documents, seen: dict[str, Path]) -> list[Claim]:
    data = _read(path)
    doc = _check_document(path, data)
    entries = data.get("claim", [])
    if not isinstance(entries, list):
        raise ClaimsFileError(path, "-", "claim", "claims must be an array of tables: [[claim]]")
    claims = []
    for position, raw in enumerate(entries, start=1):
        label = _entry_label(raw, position)
        if not isinstance(raw, dict):
            raise ClaimsFileError(path, label, "claim", "each claim must be a table: [[claim]]")
        for key, msg in _shape_errors(raw):
            raise ClaimsFileError(path, label, key, msg)
        if raw["id"] in seen:
            raise ClaimsFileError(path, label, "id", f"duplicate id (also in {seen[raw['id']]})")
        seen[raw["id"]] = path
        entry = _Entry(raw, doc["locale"], known_indicators, known_regions, documents)
        for key, check in _ENTRY_CHECKS:
            if (msg := check(entry)) is not None:
                raise ClaimsFileError(path, label, key, msg)
        claims.append(_claim(entry, doc.get("published")))
    return claims


def load_claims(paths: Path | str | Iterable[Path | str], *, known_indicators: set[str], known_regions: set[str],
                documents_root: Path | None = None, require_documents: bool = False) -> list[Claim]:
    """Claims from one claims file, a folder of them (*.toml) or a list of files.

    Documents are read from `documents_root` (paths in the file are relative to it); a missing
    document skips the quote check unless `require_documents`. Ids must be unique over all files.
    """
    if isinstance(paths, (str, Path)):
        paths = sorted(Path(paths).glob("*.toml")) if Path(paths).is_dir() else [paths]
    seen: dict[str, Path] = {}
    documents = _Documents(documents_root, require_documents)
    claims: list[Claim] = []
    for p in paths:
        claims += _load_file(Path(p), known_indicators=known_indicators, known_regions=known_regions,
                             documents=documents, seen=seen)
    return claims
