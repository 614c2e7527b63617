"""The indicator catalogue (config/indicators.toml): what each indicator means and where it is read."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from regiostat.configkeys import ConfigError, check_file_keys, check_keys

AGGREGATIONS = ("sum", "ratio_of_sums", "not_aggregable", "border_flow")
PERIODS = ("year", "december")  # which period of a table a source reads: yearly codes, or December of each year
FLOW_DIRECTIONS = ("out", "in")
UNVERIFIED = "live wiring unverified against a recorded response"
VERIFIED = "read from a recorded CBS response or a bundled capture"
# The keys each table of config/indicators.toml may hold; anything else stops the run (regiostat.configkeys).
KEYS = {
    "file": ("indicator",),
    "indicator": ("code", "name_nl", "name_en", "unit", "definition", "aggregation", "sources", "numerator",
                  "denominator", "scale", "live_wiring"),
    "source": ("table", "measure", "dimensions", "sum_over", "sum_matching", "period", "flow"),
    "flow": ("origin", "destination", "total", "direction"),
}


class IndicatorConfigError(ConfigError):
    """config/indicators.toml is malformed; the message names the indicator and field."""


@dataclass(frozen=True)
class Flow:
    """A flow table (home region x work region): which dimension is the origin, which the destination, the
    code both use for "all regions", and which flows across a region's border the indicator counts."""

    origin: str
    destination: str
    total: str
    direction: str  # "out": origin inside, destination outside; "in": the reverse


@dataclass(frozen=True)
class Source:
    """Where an indicator is read: the yearly observations of one table and measure whose dimension key
    holds ``dimensions``. ``sum_over`` adds the codes of one more dimension (all must be there);
    ``sum_matching`` adds every row that matches (e.g. every LISA sector row of one SBI section);
    ``flow`` reads a table of flows between regions (see regiostat.regions.flows)."""

    table: str
    measure: str
    dimensions: dict[str, str] = field(default_factory=dict)
    sum_over: dict[str, list[str]] = field(default_factory=dict)
    sum_matching: bool = False
    period: str = "year"
    flow: Flow | None = None


@dataclass(frozen=True)
class Indicator:
    code: str
    name_nl: str
    name_en: str
    unit: str
    definition: str
    aggregation: str
    sources: tuple[Source, ...] = ()
    numerator: str | None = None
    denominator: tuple[str, ...] = ()
    scale: float = 1.0
    live_wiring: str | None = None  # "unverified": no recorded response of its table shape was ever read

    @property
    def rule(self) -> str:
        if self.aggregation == "ratio_of_sums":
            return f"ratio of sums: {self.numerator} / ({' + '.join(self.denominator)}) x {self.scale:g}"
        if self.aggregation == "border_flow":
            return "border flow: flows across the region's border, flows between its members not counted"
        return self.aggregation.replace("_", " ")


def load_indicators(path: Path | str) -> dict[str, Indicator]:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise IndicatorConfigError(f"{path}: not valid TOML: {exc}") from exc
    check_file_keys(path, data, KEYS["file"], IndicatorConfigError)
    out: dict[str, Indicator] = {}
    for n, raw in enumerate(data.get("indicator", []), start=1):
        code = raw.get("code") if isinstance(raw, dict) else None
        where = f"indicator {code!r}" if code else f"[[indicator]] #{n}"
        check_keys(path, where, raw, KEYS["indicator"], IndicatorConfigError)
        ind = _indicator(path, f"{path}: {where}", raw)
        if ind.code in out:
            raise IndicatorConfigError(f"{path}: {where}: code is used twice")
        out[ind.code] = ind
    for ind in out.values():
        for ref in [ind.numerator, *ind.denominator] if ind.aggregation == "ratio_of_sums" else []:
            if ref not in out:
                raise IndicatorConfigError(f"{path}: indicator {ind.code!r}: refers to unknown indicator {ref!r}")
    return out


def _indicator(path: Path, where: str, raw: dict) -> Indicator:
    missing = [f for f in ("code", "name_nl", "name_en", "unit", "definition", "aggregation") if not raw.get(f)]
    if missing:
        raise IndicatorConfigError(f"{where}: missing {', '.join(missing)}")
    if raw["aggregation"] not in AGGREGATIONS:
        raise IndicatorConfigError(f"{where}: aggregation must be one of {AGGREGATIONS}")
    denominator = raw.get("denominator", ())
    denominator = (denominator,) if isinstance(denominator, str) else tuple(denominator)
    if raw["aggregation"] == "ratio_of_sums" and not (raw.get("numerator") and denominator):
        raise IndicatorConfigError(f"{where}: ratio_of_sums needs numerator and denominator")
    if raw["aggregation"] != "ratio_of_sums" and not raw.get("sources"):
        raise IndicatorConfigError(f"{where}: needs at least one source")
    if raw.get("live_wiring", "unverified") != "unverified":
        raise IndicatorConfigError(f"{where}: key 'live_wiring': the only value is \"unverified\"")
    sources = tuple(_source(path, f"{where.removeprefix(f'{path}: ')} source {i}", s, raw["aggregation"])
                    for i, s in enumerate(raw.get("sources", []), start=1))
    return Indicator(code=raw["code"], name_nl=raw["name_nl"], name_en=raw["name_en"], unit=raw["unit"],
                     definition=raw["definition"], aggregation=raw["aggregation"], sources=sources,
                     numerator=raw.get("numerator"), denominator=denominator, scale=float(raw.get("scale", 1)),
                     live_wiring=raw.get("live_wiring"))


def _source(path: Path, where: str, raw: dict, aggregation: str) -> Source:
    check_keys(path, where, raw, KEYS["source"], IndicatorConfigError)
    for key in ("table", "measure"):
        if not isinstance(raw.get(key), str):
            raise IndicatorConfigError(f"{path}: {where}: key {key!r} is required (text)")
    period = raw.get("period", "year")
    if period not in PERIODS:
        raise IndicatorConfigError(f"{path}: {where}: key 'period' must be one of {PERIODS}, got {period!r}")
    flow = None
    if "flow" in raw:
        check_keys(path, f"{where} flow", raw["flow"], KEYS["flow"], IndicatorConfigError)
        absent = [k for k in KEYS["flow"] if not isinstance(raw["flow"].get(k), str)]
        if absent or raw["flow"]["direction"] not in FLOW_DIRECTIONS:
            raise IndicatorConfigError(f"{path}: {where}: key 'flow' needs origin, destination, total (dimension "
                                       f"names and a code) and direction {FLOW_DIRECTIONS}, got {raw['flow']!r}")
        flow = Flow(**raw["flow"])
    if (flow is None) != (aggregation != "border_flow"):
        raise IndicatorConfigError(f"{path}: {where}: a border_flow indicator reads a 'flow' source, and only it does")
    return Source(table=raw["table"], measure=raw["measure"], dimensions=dict(raw.get("dimensions", {})),
                  sum_over={k: list(v) for k, v in raw.get("sum_over", {}).items()},
                  sum_matching=bool(raw.get("sum_matching", False)), period=period, flow=flow)


def live_wiring(indicators: dict[str, Indicator], code: str) -> str:
    """Whether an indicator (or any part of a ratio) is read only through wiring no recorded response tested."""
    ind = indicators[code]
    parts = [ind.numerator, *ind.denominator] if ind.aggregation == "ratio_of_sums" else []
    unverified = ind.live_wiring == "unverified" or any(live_wiring(indicators, p) == UNVERIFIED for p in parts)
    return UNVERIFIED if unverified else VERIFIED


def catalogue_frame(indicators: dict[str, Indicator]) -> pl.DataFrame:
    return pl.DataFrame([dict(code=i.code, name_nl=i.name_nl, name_en=i.name_en, unit=i.unit,
                              definition=i.definition, aggregation=i.aggregation, rule=i.rule,
                              sources="; ".join(f"{s.table} {s.measure}" for s in i.sources) or None,
                              live_wiring=live_wiring(indicators, i.code))
                         for i in indicators.values()])
