"""The indicator catalogue (config/indicators.toml): what each indicator means and where it is read."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

AGGREGATIONS = ("sum", "ratio_of_sums", "not_aggregable")


class IndicatorConfigError(ValueError):
    """config/indicators.toml is malformed; the message names the indicator and field."""


@dataclass(frozen=True)
class Source:
    """Where an indicator is read: the yearly observations of one table and measure whose dimension key
    holds ``dimensions``. ``sum_over`` adds the codes of one more dimension (all must be there);
    ``sum_matching`` adds every row that matches (e.g. every LISA sector row of one SBI section)."""

    table: str
    measure: str
    dimensions: dict[str, str] = field(default_factory=dict)
    sum_over: dict[str, list[str]] = field(default_factory=dict)
    sum_matching: bool = False


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

    @property
    def rule(self) -> str:
        if self.aggregation == "ratio_of_sums":
            return f"ratio of sums: {self.numerator} / ({' + '.join(self.denominator)}) x {self.scale:g}"
        return self.aggregation.replace("_", " ")


def load_indicators(path: Path | str) -> dict[str, Indicator]:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise IndicatorConfigError(f"{path}: not valid TOML: {exc}") from exc
    out: dict[str, Indicator] = {}
    for n, raw in enumerate(data.get("indicator", []), start=1):
        code = raw.get("code")
        where = f"{path}: indicator {code!r}" if code else f"{path}: [[indicator]] #{n}"
        missing = [f for f in ("code", "name_nl", "name_en", "unit", "definition", "aggregation") if not raw.get(f)]
        if missing:
            raise IndicatorConfigError(f"{where}: missing {', '.join(missing)}")
        if code in out:
            raise IndicatorConfigError(f"{where}: code is used twice")
        if raw["aggregation"] not in AGGREGATIONS:
            raise IndicatorConfigError(f"{where}: aggregation must be one of {AGGREGATIONS}")
        denominator = raw.get("denominator", ())
        denominator = (denominator,) if isinstance(denominator, str) else tuple(denominator)
        if raw["aggregation"] == "ratio_of_sums" and not (raw.get("numerator") and denominator):
            raise IndicatorConfigError(f"{where}: ratio_of_sums needs numerator and denominator")
        if raw["aggregation"] != "ratio_of_sums" and not raw.get("sources"):
            raise IndicatorConfigError(f"{where}: needs at least one source")
        sources = tuple(Source(table=s["table"], measure=s["measure"], dimensions=dict(s.get("dimensions", {})),
                               sum_over={k: list(v) for k, v in s.get("sum_over", {}).items()},
                               sum_matching=bool(s.get("sum_matching", False)))
                        for s in raw.get("sources", []))
        out[code] = Indicator(code=code, name_nl=raw["name_nl"], name_en=raw["name_en"], unit=raw["unit"],
                              definition=raw["definition"], aggregation=raw["aggregation"], sources=sources,
                              numerator=raw.get("numerator"), denominator=denominator,
                              scale=float(raw.get("scale", 1)))
    for ind in out.values():
        for ref in [ind.numerator, *ind.denominator] if ind.aggregation == "ratio_of_sums" else []:
            if ref not in out:
                raise IndicatorConfigError(f"{path}: indicator {ind.code!r}: refers to unknown indicator {ref!r}")
    return out


def catalogue_frame(indicators: dict[str, Indicator]) -> pl.DataFrame:
    return pl.DataFrame([dict(code=i.code, name_nl=i.name_nl, name_en=i.name_en, unit=i.unit,
                              definition=i.definition, aggregation=i.aggregation, rule=i.rule,
                              sources="; ".join(f"{s.table} {s.measure}" for s in i.sources) or None)
                         for i in indicators.values()])
