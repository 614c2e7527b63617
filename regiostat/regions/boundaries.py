"""Municipal boundary changes and code lifetimes, parsed from CBS RegioS descriptions.

CBS records every merger, split, partial transfer and code-changing rename only as free text in
the ``Description`` of each RegioS code. The grammar below was derived from all 892 codes of
03759ned (v4 ``codes-RegioS.json``):

GM descriptions (one block per event, giver and receiver both describe it)::

    <Gemeentelijke herindeling|Grenswijziging|Wijziging|Opgeheven|Ontstaan> per DD-MM-YYYY[,]
        <ontvangen van|overgegaan naar|uit>:
    - Name (GMxxxx),
    ... 4537 hectare met 9120 woningen en 20191 inwoners     (parts may be missing: "... 13 inwoners")
    Naamswijziging per DD-MM-YYYY,
    oude naam: Name (GMxxxx)  |  nieuwe naam: Name (GMxxxx)
    Opgeheven per DD-MM-YYYY                                  (abolished without successor: GM0997)
    Begindatum voor 1830  |  Begindatum DD-MM-YYYY
    Provinciale wijziging per DD-MM-YYYY: / - overgegaan van provincie ...   (no municipal effect)

NL/LD/PV/CR descriptions repeat the municipal events crossing their borders as one line::

    Grenswijziging per DD-MM-YYYY:
    ... A (GMa) ontvangt [een gedeelte] van [het opgeheven] B (GMb), 16 hectare met ...
    ... Over van A (GMa) naar B (GMb), ...
    ... A (GMa) wordt [gedeeltelijk] opgeheven en gaat [gedeeltelijk] over naar B (GMb), ...
    ... A (GMa) gaat gedeeltelijk over naar B (GMb), ...

Lines may be hard-wrapped (the v3 CSV export, one CR text): a line starting with a lower-case
letter or a digit, or following one that ends in "naar"/"van"/"met"/"en", continues it.

A code begins on its "Ontstaan per" date when it has one, else on its "Begindatum": GM1942 (Gooise
Meren) says "Begindatum 01-01-2015" but was formed on 01-01-2016 from Bussum, Muiden and Naarden.

Putting series on one year's map with these changes is regiostat.regions.harmonisation.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

CHANGE_SCHEMA = {
    "date": pl.Date, "from_code": pl.String, "from_name": pl.String, "to_code": pl.String,
    "to_name": pl.String, "kind": pl.String, "hectares": pl.Float64, "dwellings": pl.Int64,
    "inhabitants": pl.Int64, "described_at": pl.String, "text": pl.String, "n_sources": pl.Int64,
}
LIFETIME_SCHEMA = {"code": pl.String, "name": pl.String, "begin_date": pl.Date,
                   "begins_before_1830": pl.Boolean, "abolished_date": pl.Date}

_D = r"(?P<date>\d{2}-\d{2}-\d{4})"
_HEADER = re.compile(r"^(?P<label>Gemeentelijke herindeling|Grenswijziging|Wijziging|Opgeheven|Ontstaan)"
                     rf" per {_D},?\s*(?P<dir>ontvangen van|overgegaan naar|uit)?\s*:?$")
_RENAME = re.compile(rf"^Naamswijziging per {_D},?\s*(?P<which>oude|nieuwe) naam: (?P<name>.+?) "
                     r"\((?P<code>GM\d{4})\),?$")
_PARTY = re.compile(r"^- (?P<name>.+?) ?\((?P<code>GM\d{4})\),?$")  # v3 text has "Zevenaar(GM0299),"
_OPEN_END = re.compile(r"\s(?:naar|van|met|en|opgeheven)$")  # a wrapped line ends mid-sentence
_NUMBERS = re.compile(r"^\.\.\.\s+[^()]*\d[^()]*$")
_BEGIN = re.compile(rf"^Begindatum (?:voor (?P<year>\d{{4}})|{_D})$")
_PAIR = re.compile(
    r"^\.\.\. (?:Over van )?(?P<a>.+?) \((?:GM)?(?P<ac>\d{4})\) (?P<verb>naar|ontvangt van(?: het opgeheven)?"
    r"|ontvangt een gedeelte van het opgeheven|wordt (?:gedeeltelijk )?opgeheven en gaat (?:gedeeltelijk )?"
    r"over naar|gaat gedeeltelijk over naar) (?P<b>.+?) \(GM(?P<bc>\d{4})\)(?P<rest>.*)$")
# Lines that carry no municipal change: province moves, summaries per higher region, prose headers.
_NO_EVENT = re.compile(r"^(Provinciale wijziging per .*|- overgegaan van provincie .*|\.|[A-Z]{2} = .*"
                       r"|- .*\((?:NL|LD|PV|CR)\d{2}\).*|\.\.\. .*\(GM\d{4}\) wordt overgeheveld van provincie.*)$")
_EVENTISH = re.compile(r"\(GM\d{4}\)|per \d{2}-\d{2}-\d{4}|\d\s+(?:hectare|woning|inwoner)")  # else prose
_QUANTITY = re.compile(r"(\d+(?:,\d+)?)\s+(hectare|woning(?:en)?|inwoners?)\b")


@dataclass(frozen=True)
class ParsedDescriptions:
    changes: pl.DataFrame  # one row per (date, from_code, to_code), see CHANGE_SCHEMA
    lifetimes: pl.DataFrame  # one row per code, see LIFETIME_SCHEMA
    unparsed: pl.DataFrame  # code, line: every non-empty line no rule recognised


def load_regios_codes(path: str | Path) -> list[tuple[str, str, str]]:
    """(code, title, description) from a v4 ``codes-RegioS.json`` (OData ``value`` list)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return [(c["Identifier"], c["Title"], c.get("Description") or "") for c in data["value"]]


def parse_changes(codes: Iterable[tuple[str, str, str]]) -> pl.DataFrame:
    return parse_descriptions(codes).changes


def lifetimes(codes: Iterable[tuple[str, str, str]]) -> pl.DataFrame:
    return parse_descriptions(codes).lifetimes


@dataclass
class _Collected:
    """What reading all descriptions gathers, before the changes are merged and classified."""

    rows: list[dict] = field(default_factory=list)  # one per event per description that states it
    unparsed: list[dict] = field(default_factory=list)
    abolished: set[tuple[str, date]] = field(default_factory=set)  # from a code's own "Opgeheven per" line
    hints: set[tuple[str, date]] = field(default_factory=set)  # from "wordt opgeheven" in NL/LD/PV/CR texts


def parse_descriptions(codes: Iterable[tuple[str, str, str]]) -> ParsedDescriptions:
    found = _Collected()
    life: dict[str, dict] = {}
    for code, title, description in codes:
        info = life[code] = {"code": code, "name": title, "begin_date": None,
                             "begins_before_1830": False, "abolished_date": None}
        _DescriptionReader(code, info, found).read(description)
    abolished = found.abolished | {(c, d) for c, d in found.hints if c not in life}  # trust a code's own text
    lifetimes_df = pl.DataFrame(list(life.values()), schema=LIFETIME_SCHEMA)
    return ParsedDescriptions(_finish(found.rows, abolished), lifetimes_df,
                              pl.DataFrame(found.unparsed, schema={"code": pl.String, "line": pl.String}))


def _logical_lines(text: str) -> list[str]:
    out: list[str] = []
    for raw in re.split(r"\r?\n", text or ""):
        line = raw.strip()
        if out and line and (line[0].islower() or line[0].isdigit() or _OPEN_END.search(out[-1])):
            out[-1] += " " + line
        elif line:
            out.append(line)
    return out


def _date(text: str) -> date:
    day, month, year = (int(p) for p in text.split("-"))
    return date(year, month, day)


def _quantities(text: str) -> dict:
    """'4537 hectare met 9120 woningen en 20191 inwoners' -> numbers; absent parts stay None."""
    found = {unit[:4]: float(value.replace(",", ".")) for value, unit in _QUANTITY.findall(text)}
    count = {key: int(found[key]) if key in found else None for key in ("woni", "inwo")}
    return {"hectares": found.get("hect"), "dwellings": count["woni"], "inhabitants": count["inwo"]}


class _DescriptionReader:
    """Reads one code's description line by line. A block header opens a block whose party lines and
    number lines follow; `pending` is the last event read, waiting for a "..." line with its numbers."""

    def __init__(self, code: str, info: dict, found: _Collected) -> None:
        self.code, self.info, self.found = code, info, found
        self.header: tuple[date, str | None, str, str] | None = None  # (date, direction, label, line)
        self.pending: dict | None = None
        self.formed = False  # an "Ontstaan per" line was read: its date is the begin date, whatever "Begindatum" says

    def read(self, description: str) -> None:
        for line in _logical_lines(description):
            for pattern, applies, handle in _LINE_RULES:
                if (m := pattern.match(line)) and applies(self):
                    handle(self, m, line)
                    break
            else:
                self.other(line)

    def block_header(self, m: re.Match[str], line: str) -> None:
        when = _date(m["date"])
        self.header, self.pending = (when, m["dir"], m["label"], line), None
        if m["label"] == "Opgeheven":
            self.info["abolished_date"] = when
            self.found.abolished.add((self.code, when))
        elif m["label"] == "Ontstaan" and not self.formed:
            self.info["begin_date"], self.formed = when, True

    def party(self, m: re.Match[str], line: str) -> None:
        when, direction, _, head = self.header
        giver, receiver = (m["code"], self.code) if direction in ("ontvangen van", "uit") else (self.code, m["code"])
        self.pending = {"date": when, "from_code": giver, "to_code": receiver, "rename": False,
                        "names": {m["code"]: m["name"]}, "described_at": self.code, "text": f"{head} {line}",
                        "hectares": None, "dwellings": None, "inhabitants": None}
        if giver != receiver:  # a merger lists the continuing municipality itself as well
            self.found.rows.append(self.pending)

    def numbers(self, m: re.Match[str], line: str) -> None:
        self.pending.update(_quantities(line))
        self.pending["text"] += " " + line
        self.pending = None

    def rename(self, m: re.Match[str], line: str) -> None:
        old, new = (m["code"], self.code) if m["which"] == "oude" else (self.code, m["code"])
        self.found.rows.append({"date": _date(m["date"]), "from_code": old, "to_code": new, "rename": True,
                                "names": {m["code"]: m["name"]}, "described_at": self.code, "text": line,
                                "hectares": None, "dwellings": None, "inhabitants": None})

    def begin(self, m: re.Match[str], line: str) -> None:
        if m["date"] and not self.formed:
            self.info["begin_date"] = _date(m["date"])
        self.info["begins_before_1830"] = m["year"] is not None

    def pair(self, m: re.Match[str], line: str) -> None:
        a, b = ("GM" + m["ac"], m["a"]), ("GM" + m["bc"], m["b"])
        (giver, gname), (receiver, rname) = (b, a) if m["verb"].startswith("ontvangt") else (a, b)
        if "opgeheven" in m["verb"]:  # only a hint: "Coevorden (GM0109) wordt opgeheven" kept its code
            self.found.hints.add((giver, self.header[0]))
        self.pending = {"date": self.header[0], "from_code": giver, "to_code": receiver, "rename": False,
                        "names": {giver: gname, receiver: rname}, "described_at": self.code,
                        "text": f"{self.header[3]} {line}", **_quantities(m["rest"])}
        if giver != receiver:  # CBS typo "Veenendaal (GM0345) ontvangt van Ede (GM0345)" in LD03
            self.found.rows.append(self.pending)  # numbers may follow on their own "..." line

    def other(self, line: str) -> None:
        if not _NO_EVENT.match(line) and _EVENTISH.search(line):
            self.found.unparsed.append({"code": self.code, "line": line})
            self.pending = None


_LINE_RULES: tuple[tuple[re.Pattern[str], Callable[[_DescriptionReader], object],
                         Callable[[_DescriptionReader, re.Match[str], str], None]], ...] = (
    # (pattern, whether it applies in the reader's state, handler): the first that matches and applies wins
    (_HEADER, lambda r: True, _DescriptionReader.block_header),
    (_PARTY, lambda r: r.header and r.header[1], _DescriptionReader.party),
    (_NUMBERS, lambda r: r.pending is not None, _DescriptionReader.numbers),
    (_RENAME, lambda r: True, _DescriptionReader.rename),
    (_BEGIN, lambda r: True, _DescriptionReader.begin),
    (_PAIR, lambda r: r.header, _DescriptionReader.pair),
)


def _finish(rows: list[dict], abolished: set[tuple[str, date]]) -> pl.DataFrame:
    """One row per (date, from, to), most detailed first; kind from the giver's fate that day."""
    names: dict[str, str] = {}
    for r in rows:
        for c, n in r["names"].items():
            names.setdefault(c, n)
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        groups[(r["date"], r["from_code"], r["to_code"])].append(r)

    def detail(r: dict) -> tuple:
        filled = sum(r[k] is not None for k in ("hectares", "dwellings", "inhabitants"))
        return (-filled, not r["described_at"].startswith("GM"), r["described_at"] != r["from_code"])

    best = {key: min(group, key=detail) | {"n_sources": len(group)} for key, group in groups.items()}
    destinations: dict[tuple, set] = defaultdict(set)
    for (when, giver, receiver), r in best.items():
        if not r["rename"]:
            destinations[(giver, when)].add(receiver)
    out = []
    for (when, giver, receiver), r in sorted(best.items()):
        if r["rename"]:
            kind = "rename"
        elif (giver, when) in abolished:
            kind = "merger" if len(destinations[(giver, when)]) == 1 else "split"
        else:
            kind = "transfer"
        out.append({**{k: r[k] for k in CHANGE_SCHEMA if k in r}, "kind": kind,
                    "from_name": names.get(giver), "to_name": names.get(receiver)})
    return pl.DataFrame(out, schema=CHANGE_SCHEMA)
