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
from collections.abc import Iterable
from pathlib import Path

from regiostat.reconcile.model import CHANGE_PREFIX, Claim, Quantity, change_quantity, is_year
from regiostat.reconcile.precision import LOCALES, FigureError, parse_figure, parse_precision

UNKNOWN_PERIOD = "unknown"  # the document states no year; the claim is kept, matched to no year
REQUIRED = ("id", "document", "location", "quote", "written", "indicator", "region", "period")
OPTIONAL = ("unit", "precision", "interval", "scale", "reference_date", "base_period", "direction", "notes")
DOCUMENT_FIELDS = ("title", "publisher", "published", "locale", "notes")
DIRECTIONS = {"increase": 1, "decrease": -1}
# Source documents (the seed plans) ship in data/documents, laid out like the shared folder: seeds/<file>.

_LINE = re.compile(r"lines?\s+(\d+)")


class ClaimsFileError(ValueError):
    """A claims-file entry is malformed; says which file, which claim (id or position) and field."""

    def __init__(self, file: Path | str, claim: str, field: str, message: str) -> None:
        self.file, self.claim, self.field = str(file), claim, field
        super().__init__(f"{file}: claim {claim}: field {field!r}: {message}")


def _normalise(text: str) -> tuple[str, list[int]]:
    """Collapse whitespace runs to one space (page layout breaks sentences over lines) and
    remember the 1-based line number of every kept character."""
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


def _check_indicator(code: str, known: set[str]) -> str | None:
    """Error message, or None if the indicator code is acceptable."""
    if code.startswith("unmapped:"):
        return None if re.fullmatch(r"[a-z0-9_]+", code[9:]) else "unmapped:<name> needs a name of a-z, 0-9, _"
    base = code.removeprefix(CHANGE_PREFIX)
    return None if base in known else f"unknown indicator {base!r} (not in the indicator catalogue)"


def _load_file(path: Path, *, known_indicators: set[str], known_regions: set[str],
               documents_root: Path | None, require_documents: bool, seen: dict[str, Path]) -> list[Claim]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ClaimsFileError(path, "-", "toml", str(e)) from None

    def fail(claim: str, field: str, message: str) -> ClaimsFileError:
        return ClaimsFileError(path, claim, field, message)

    for key in data:
        if key not in ("document", "claim"):
            raise fail("-", key, "unknown top-level table (expected [document] and [[claim]])")
    doc = data.get("document")
    if not isinstance(doc, dict):
        raise fail("[document]", "document", "missing [document] table (title, publisher, published, locale)")
    for key in doc:
        if key not in DOCUMENT_FIELDS:
            raise fail("[document]", key, f"unknown field (allowed: {', '.join(DOCUMENT_FIELDS)})")
    for key in ("title", "locale"):
        if not isinstance(doc.get(key), str) or not doc[key].strip():
            raise fail("[document]", key, "missing or empty")
    locale = doc["locale"]
    if locale not in LOCALES:
        raise fail("[document]", "locale", f"{locale!r}: expected one of {LOCALES}")
    published = doc.get("published")
    if published is not None and not (isinstance(published, str) and re.fullmatch(r"\d{4}(-\d{2}){0,2}", published)):
        raise fail("[document]", "published", "expected an ISO date or year as text, e.g. \"2021\"")

    entries = data.get("claim", [])
    if not isinstance(entries, list):
        raise fail("-", "claim", "claims must be an array of tables: [[claim]]")
    texts: dict[str, str | None] = {}
    claims = []
    for position, entry in enumerate(entries, start=1):
        label = f"#{position}"
        if not isinstance(entry, dict):
            raise fail(label, "claim", "each claim must be a table: [[claim]]")
        if isinstance(entry.get("id"), str) and entry["id"].strip():
            label = f"{entry['id']!r} (#{position})"
        for key in entry:
            if key not in REQUIRED and key not in OPTIONAL:
                raise fail(label, key, "unknown field")
        for key in REQUIRED:
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise fail(label, key, "missing, empty or not text")
        for key in ("unit", "precision", "reference_date", "base_period", "direction", "notes"):
            if key in entry and not isinstance(entry[key], str):
                raise fail(label, key, "must be text")
        cid = entry["id"]
        if cid in seen:
            raise fail(label, "id", f"duplicate id (also in {seen[cid]})")
        seen[cid] = path

        indicator = entry["indicator"]
        if (msg := _check_indicator(indicator, known_indicators)) is not None:
            raise fail(label, "indicator", msg)
        if entry["region"] not in known_regions:
            raise fail(label, "region", f"unknown region {entry['region']!r}")
        period = entry["period"]
        if period != UNKNOWN_PERIOD and not is_year(period):
            raise fail(label, "period", f"{period!r}: expected a year (\"2020\") or \"{UNKNOWN_PERIOD}\"")

        is_change = indicator.startswith(CHANGE_PREFIX)
        for key in ("base_period", "direction"):
            if is_change and key not in entry:
                raise fail(label, key, f"required for a {CHANGE_PREFIX} indicator")
            if not is_change and key in entry:
                raise fail(label, key, f"only allowed for a {CHANGE_PREFIX} indicator")
        quantity = Quantity(indicator, entry["region"], period)
        if is_change:
            base = entry["base_period"]
            if base != UNKNOWN_PERIOD and not is_year(base):
                raise fail(label, "base_period", f"{base!r}: expected a year or \"{UNKNOWN_PERIOD}\"")
            if entry["direction"] not in DIRECTIONS:
                raise fail(label, "direction", f"expected one of {sorted(DIRECTIONS)}")
            quantity = change_quantity(indicator.removeprefix(CHANGE_PREFIX), entry["region"], base, period)

        try:
            unit = parse_precision(entry["precision"]) if "precision" in entry else None
        except FigureError as e:
            raise fail(label, "precision", str(e)) from None
        scale = entry.get("scale", 1)
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or scale <= 0:
            raise fail(label, "scale", "must be a positive number, e.g. 1000 for 'x 1 000'")
        quote, written = entry["quote"], entry["written"]
        try:
            fig = parse_figure(written, locale=locale, scale=scale, unit=unit)
        except FigureError as e:
            raise fail(label, "written", str(e)) from None
        if " ".join(written.split()) not in " ".join(quote.split()):
            raise fail(label, "written", f"{written!r} does not occur in the quote")
        low, high, precision = fig.low, fig.high, fig.precision
        if "interval" in entry:
            iv = entry["interval"]
            if not (isinstance(iv, list) and len(iv) == 2 and all(isinstance(x, (int, float)) for x in iv)
                    and iv[0] <= fig.value <= iv[1]):
                raise fail(label, "interval", f"expected [low, high] around the written value {fig.value}")
            low, high, precision = float(iv[0]), float(iv[1]), "interval set in the claims file"
        value = fig.value
        if is_change and DIRECTIONS[entry["direction"]] < 0:
            value, low, high = -value, -high, -low
            precision += "; decrease"

        doc_path = entry["document"]
        if doc_path not in texts:
            file = documents_root / doc_path if documents_root is not None else None
            texts[doc_path] = file.read_text(encoding="utf-8") if file is not None and file.is_file() else None
        text = texts[doc_path]
        if text is None and require_documents:
            raise fail(label, "document", f"document not found under {documents_root}")
        if text is not None:
            starts = quote_lines(quote, text)
            if not starts:
                raise fail(label, "quote", f"not found verbatim in {doc_path} (check the transcription)")
            m = _LINE.match(entry["location"])
            if m and int(m.group(1)) not in starts:
                raise fail(label, "location", f"the quote starts at line(s) {starts}, not line {m.group(1)}")

        notes = entry.get("notes")
        if "reference_date" in entry:
            notes = f"Reference date: {entry['reference_date']}." + (f" {notes}" if notes else "")
        claims.append(Claim(
            claim_id=cid, quantity=quantity, value=value, low=low,
            high=high, precision=precision, source_kind="document", source=doc_path,
            location=entry["location"], quote=quote, vintage=published, notes=notes))
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
    claims: list[Claim] = []
    for p in paths:
        claims += _load_file(Path(p), known_indicators=known_indicators, known_regions=known_regions,
                             documents_root=documents_root, require_documents=require_documents, seen=seen)
    return claims
