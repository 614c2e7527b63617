"""Municipal boundary changes from CBS RegioS descriptions, and harmonisation to one year's map.

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
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import polars as pl

WEIGHTS = ("inhabitants", "dwellings")
METHOD_OF_KIND = {"merger": "merger_sum", "rename": "renamed", "split": "split_weighted",
                  "transfer": "transfer_weighted"}
_METHOD_ORDER = ("merger_sum", "renamed", "split_weighted", "transfer_weighted")

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


def parse_descriptions(codes: Iterable[tuple[str, str, str]]) -> ParsedDescriptions:
    rows: list[dict] = []
    life: dict[str, dict] = {}
    unparsed: list[dict] = []
    abolished: set[tuple[str, date]] = set()  # from a code's own "Opgeheven per" line
    hints: set[tuple[str, date]] = set()  # from "wordt opgeheven" in NL/LD/PV/CR texts
    for code, title, description in codes:
        info = life[code] = {"code": code, "name": title, "begin_date": None,
                             "begins_before_1830": False, "abolished_date": None}
        _parse_one(code, description, rows, info, unparsed, abolished, hints)
    abolished |= {(c, d) for c, d in hints if c not in life}  # trust a code's own text when we have it
    lifetimes_df = pl.DataFrame(list(life.values()), schema=LIFETIME_SCHEMA)
    return ParsedDescriptions(_finish(rows, abolished), lifetimes_df,
                              pl.DataFrame(unparsed, schema={"code": pl.String, "line": pl.String}))


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


def _parse_one(code, description, rows, info, unparsed, abolished, hints) -> None:
    header = None  # (date, direction, label, line) of the block being read
    pending = None  # the event dict of the last "- Name (GMxxxx)," line, waiting for its numbers
    formed = False  # an "Ontstaan per" line was read: its date is the begin date, whatever "Begindatum" says
    for line in _logical_lines(description):
        if m := _HEADER.match(line):
            when = _date(m["date"])
            header, pending = (when, m["dir"], m["label"], line), None
            if m["label"] == "Opgeheven":
                info["abolished_date"] = when
                abolished.add((code, when))
            elif m["label"] == "Ontstaan" and not formed:
                info["begin_date"], formed = when, True
        elif (m := _PARTY.match(line)) and header and header[1]:
            when, direction, label, head = header
            giver, receiver = (m["code"], code) if direction in ("ontvangen van", "uit") else (code, m["code"])
            pending = {"date": when, "from_code": giver, "to_code": receiver, "rename": False,
                       "names": {m["code"]: m["name"]}, "described_at": code, "text": f"{head} {line}",
                       "hectares": None, "dwellings": None, "inhabitants": None}
            if giver != receiver:  # a merger lists the continuing municipality itself as well
                rows.append(pending)
        elif _NUMBERS.match(line) and pending is not None:
            pending.update(_quantities(line))
            pending["text"] += " " + line
            pending = None
        elif m := _RENAME.match(line):
            old, new = (m["code"], code) if m["which"] == "oude" else (code, m["code"])
            rows.append({"date": _date(m["date"]), "from_code": old, "to_code": new, "rename": True,
                         "names": {m["code"]: m["name"]}, "described_at": code, "text": line,
                         "hectares": None, "dwellings": None, "inhabitants": None})
        elif m := _BEGIN.match(line):
            if m["date"] and not formed:
                info["begin_date"] = _date(m["date"])
            info["begins_before_1830"] = m["year"] is not None
        elif (m := _PAIR.match(line)) and header:
            a, b = ("GM" + m["ac"], m["a"]), ("GM" + m["bc"], m["b"])
            (giver, gname), (receiver, rname) = (b, a) if m["verb"].startswith("ontvangt") else (a, b)
            if "opgeheven" in m["verb"]:  # only a hint: "Coevorden (GM0109) wordt opgeheven" kept its code
                hints.add((giver, header[0]))
            pending = {"date": header[0], "from_code": giver, "to_code": receiver, "rename": False,
                       "names": {giver: gname, receiver: rname}, "described_at": code,
                       "text": f"{header[3]} {line}", **_quantities(m["rest"])}
            if giver != receiver:  # CBS typo "Veenendaal (GM0345) ontvangt van Ede (GM0345)" in LD03
                rows.append(pending)  # numbers may follow on their own "..." line
        elif not _NO_EVENT.match(line) and _EVENTISH.search(line):
            unparsed.append({"code": code, "line": line})
            pending = None


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


# --------------------------------------------------------------------------- harmonisation

_RATIO_UNIT = re.compile(r"%|‰|promille|^\s*per\b", re.IGNORECASE)


def _guard_additive(frame: pl.DataFrame) -> None:
    """Shares of a percentage are meaningless; ratios must be rebuilt from harmonised parts."""
    if "unit" in frame.columns:
        ratios = sorted({u for u in frame["unit"].drop_nulls().unique() if _RATIO_UNIT.search(u)})
        if ratios:
            raise ValueError(f"harmonise() needs an additive count, got unit {ratios}; harmonise "
                             "numerator and denominator separately with harmonise_ratio()")
    if "is_ratio" in frame.columns and frame["is_ratio"].fill_null(False).any():
        raise ValueError("harmonise() got rows flagged is_ratio; use harmonise_ratio()")


def _pre_change_year(when: date) -> int:
    """The last year whose 1 January map does not yet include a change taking effect on ``when``."""
    return when.year - 1 if (when.month, when.day) == (1, 1) else when.year


def harmonise(frame: pl.DataFrame, changes: pl.DataFrame, *, target_year: int,
              weight: Literal["inhabitants", "dwellings"] = "inhabitants",
              giver_totals: pl.DataFrame | None = None) -> pl.DataFrame:
    """Put an additive municipal series on the municipal map of 1 January ``target_year``.

    Date convention: a figure for year Y is taken to be on the map in force on 1 January Y (how
    CBS publishes yearly regional tables), so a change dated D is already inside year D.year's
    map when D is 1 January. Hence for a row of year Y every change with
    1 January Y < D <= 1 January ``target_year`` is applied, in date order (chains compose);
    a mid-year change (e.g. Amsterdam/Weesp 24-03-2022) is applied to year 2022 figures.

    Mergers and code-changing renames move the whole value. A split (giver abolished, several
    receivers) divides it by the receivers' stated ``weight`` (a part whose weight CBS did not
    state counts as 0; if none is stated, hectares, then equal parts). A partial
    transfer moves ``weight_moved / giver_total``: the giver's total is taken from
    ``giver_totals`` (region_code, year, total: the weight quantity on that year's map, looked up
    for the last year before the change) when given, otherwise from the frame itself: the
    giver's running value at that point. The latter is only right when the frame *is* the weight
    quantity (population with "inhabitants", dwelling stock with "dwellings"); pass
    ``giver_totals`` for anything else. Codes missing from the frame contribute nothing.

    Output: region_code, year, value, method, weight (smallest fraction applied to any
    contributor; 1.0 when all came over whole), contributors, contributor_weights, converted.
    """
    if weight not in WEIGHTS:
        raise ValueError(f"weight must be one of {WEIGHTS}, got {weight!r}")
    _guard_additive(frame)
    missing = {"region_code", "year", "value"} - set(frame.columns)
    if missing:
        raise ValueError(f"frame lacks columns {sorted(missing)}")
    bad = frame.filter(~pl.col("region_code").str.starts_with("GM"))["region_code"].unique().to_list()
    if bad:
        raise ValueError(f"harmonise() handles municipalities (GM) only, got {sorted(bad)[:5]}")
    if frame.filter(pl.col("year") > target_year).height:
        raise ValueError("backwards harmonisation (year > target_year) is not supported")
    if frame.select(pl.struct("region_code", "year").is_duplicated().any()).item():
        raise ValueError("frame has more than one value per (region_code, year)")
    totals = None if giver_totals is None else {
        (r["region_code"], r["year"]): r["total"] for r in giver_totals.iter_rows(named=True)}

    out: list[dict] = []
    for (year,), part in frame.group_by("year"):
        window = changes.filter((pl.col("date") > date(year, 1, 1)) & (pl.col("date") <= date(target_year, 1, 1)))
        values = {r["region_code"]: _num(r["value"]) for r in part.iter_rows(named=True)}
        # state[code][source] = [amount, fraction of source's value, methods]
        state: dict[str, dict[str, list]] = {c: {c: [v, 1.0, set()]} for c, v in values.items()}
        for (when,), day in window.sort("date").group_by("date", maintain_order=True):
            _apply_day(state, day, when, weight, totals)
        for code, parcels in sorted(state.items()):
            if not parcels:
                continue
            methods = set().union(*(p[2] for p in parcels.values()))
            method = "+".join(m for m in _METHOD_ORDER if m in methods) or "unchanged"
            sources = sorted(parcels)
            out.append({"region_code": code, "year": year, "value": sum(parcels[s][0] for s in sources),
                        "method": method, "weight": min(parcels[s][1] for s in sources),
                        "contributors": sources, "contributor_weights": [parcels[s][1] for s in sources],
                        "converted": method != "unchanged"})
    schema = {"region_code": pl.String, "year": frame.schema["year"], "value": pl.Float64,
              "method": pl.String, "weight": pl.Float64, "contributors": pl.List(pl.String),
              "contributor_weights": pl.List(pl.Float64), "converted": pl.Boolean}
    return (pl.DataFrame(out, schema=schema).with_columns(pl.col("value").fill_nan(None))
            .sort("region_code", "year"))


def _num(value) -> float:
    return float("nan") if value is None else float(value)


def _apply_day(state, day: pl.DataFrame, when: date, weight: str, totals) -> None:
    """Move parcels for all changes of one date, with shares computed on the pre-change map."""
    moves: dict[str, list[tuple[str, float, str]]] = defaultdict(list)
    for (giver,), events in day.group_by("from_code"):
        parcels = state.get(giver)
        if not parcels:
            continue
        kinds = set(events["kind"])
        w = [float(x or 0) for x in events[weight].to_list()]
        if kinds & {"merger", "rename", "split"}:  # giver ceases to exist: everything goes
            if sum(w) == 0:  # nothing stated: fall back to area, then equal parts
                w = [float(x or 0) for x in events["hectares"].to_list()]
                w = w if sum(w) > 0 else [1.0] * len(w)
            shares = [x / sum(w) for x in w]
        else:
            if totals is not None and sum(w) == 0:  # nothing moves: no total needed
                total = 1.0
            elif totals is not None:
                key = (giver, _pre_change_year(when))
                if key not in totals:
                    raise ValueError(f"giver_totals lacks {key} needed for a transfer on {when}")
                total = float(totals[key] or 0)
            else:
                total = sum(p[0] for p in parcels.values())
            shares = [min(x / total, 1.0) if total > 0 else 0.0 for x in w]
            if sum(shares) > 1:
                shares = [s / sum(shares) for s in shares]
        for receiver, kind, share in zip(events["to_code"], events["kind"], shares, strict=True):
            if share > 0:
                moves[giver].append((receiver, share, METHOD_OF_KIND[kind]))
    for giver, targets in moves.items():
        parcels = state.pop(giver)
        kept = 1.0 - sum(share for _, share, _ in targets)
        if kept > 1e-12:
            state[giver] = {s: [a * kept, f * kept, m | {"transfer_weighted"}] for s, (a, f, m) in parcels.items()}
        for receiver, share, method in targets:
            into = state.setdefault(receiver, {})
            for source, (amount, fraction, methods) in parcels.items():
                slot = into.setdefault(source, [0.0, 0.0, set()])
                slot[0] += amount * share
                slot[1] += fraction * share
                slot[2] |= methods | {method}


def harmonise_ratio(numerator_frame: pl.DataFrame, denominator_frame: pl.DataFrame, changes: pl.DataFrame,
                    *, target_year: int, weight: Literal["inhabitants", "dwellings"] = "inhabitants",
                    giver_totals: pl.DataFrame | None = None, scale: float = 1.0) -> pl.DataFrame:
    """Harmonise numerator and denominator separately, then divide (times ``scale``, e.g. 100)."""
    kwargs = {"target_year": target_year, "weight": weight, "giver_totals": giver_totals}
    num = harmonise(numerator_frame, changes, **kwargs)
    den = harmonise(denominator_frame, changes, **kwargs)
    joined = num.join(den, on=["region_code", "year"], how="inner", suffix="_den")
    return joined.select(
        "region_code", "year",
        (pl.when(pl.col("value_den") != 0).then(pl.col("value") / pl.col("value_den") * scale)).alias("value"),
        pl.col("value").alias("numerator"), pl.col("value_den").alias("denominator"),
        "method", "method_den", (pl.col("converted") | pl.col("converted_den")).alias("converted"),
    ).sort("region_code", "year")
