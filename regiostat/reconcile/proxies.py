"""The proxy table (config/proxies.toml): which real figures come closest to a claim the warehouse cannot
check directly, and how far off each kind of nearness is.

A document's figure often has no exact counterpart in the data: another definition (LISA jobs against
CBS employee jobs), another area (the COROP regions around four municipalities) or another year. The
closest figure is searched as data, never as special cases in code: each indicator lists its proxies
(same quantity, other source or definition) with a distance and the difference in words; regions are
approximated by the region levels listed (the COROP regions or provinces that cover a group of
municipalities); and years by the years nearest the claim's. Loading checks every field and stops
naming the file, the entry and the key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from regiostat.codes import REGION_LEVELS
from regiostat.configkeys import ConfigError


class ProxyConfigError(ConfigError):
    """config/proxies.toml is malformed; names the file, the entry and the key."""


@dataclass(frozen=True)
class Proxy:
    indicator: str  # the claim's indicator
    proxy: str  # the indicator that measures nearly the same
    distance: float
    difference: str  # in words, how the proxy differs from the claim's indicator


@dataclass(frozen=True)
class ProxyTable:
    per_year: float = 1.0
    max_years: int = 6
    approximate_region: float = 2.0
    cover_levels: tuple[str, ...] = ("corop", "provincie")
    proxies: Mapping[str, tuple[Proxy, ...]] = field(default_factory=dict)

    def of(self, indicator: str) -> tuple[Proxy, ...]:
        return self.proxies.get(indicator, ())


_TOP = {"distance": {"per_year", "max_years", "approximate_region"}, "regions": {"cover_levels"}, "proxy": None}
_PROXY_KEYS = {"indicator", "proxy", "distance", "difference"}


def _fail(path: Path, entry: str, key: str, message: str) -> ProxyConfigError:
    return ProxyConfigError(f"{path}: {entry}: key {key!r}: {message}")


def _number(path: Path, entry: str, raw: Mapping[str, Any], key: str, default: float) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise _fail(path, entry, key, "must be a non-negative number")
    return float(value)


def _proxy(path: Path, n: int, raw: Any, indicators: set[str] | None) -> Proxy:
    entry = f"[[proxy]] #{n}"
    if not isinstance(raw, dict):
        raise _fail(path, entry, "proxy", "each proxy must be a table")
    for key in raw:
        if key not in _PROXY_KEYS:
            raise _fail(path, entry, key, f"unknown key (allowed: {', '.join(sorted(_PROXY_KEYS))})")
    for key in ("indicator", "proxy", "difference"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise _fail(path, entry, key, "required text")
        if key != "difference" and indicators is not None and raw[key] not in indicators:
            raise _fail(path, entry, key, f"unknown indicator {raw[key]!r} (not in indicators.toml)")
    if raw["indicator"] == raw["proxy"]:
        raise _fail(path, entry, "proxy", "an indicator is not its own proxy")
    return Proxy(raw["indicator"], raw["proxy"], _number(path, entry, raw, "distance", 1.0), raw["difference"].strip())


def load_proxies(path: Path | str, *, indicators: set[str] | None = None) -> ProxyTable:
    """The proxy table; with `indicators`, every code must be in the catalogue."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ProxyConfigError(f"{path}: not valid TOML: {exc}") from exc
    for key, allowed in _TOP.items():
        for sub in (data.get(key) or {}) if allowed is not None else ():
            if sub not in allowed:
                raise _fail(path, f"[{key}]", sub, f"unknown key (allowed: {', '.join(sorted(allowed))})")
    for key in data:
        if key not in _TOP:
            raise _fail(path, "-", key, "unknown top-level key (expected [distance], [regions], [[proxy]])")
    distance, regions = data.get("distance", {}), data.get("regions", {})
    levels = tuple(regions.get("cover_levels", ("corop", "provincie")))
    for level in levels:
        if level not in REGION_LEVELS.values():
            raise _fail(path, "[regions]", "cover_levels", f"unknown region level {level!r}")
    proxies: dict[str, list[Proxy]] = {}
    for n, raw in enumerate(data.get("proxy", []), start=1):
        p = _proxy(path, n, raw, indicators)
        if any(x.proxy == p.proxy for x in proxies.get(p.indicator, [])):
            raise _fail(path, f"[[proxy]] #{n}", "proxy", f"{p.proxy!r} is listed twice for {p.indicator!r}")
        proxies.setdefault(p.indicator, []).append(p)
    return ProxyTable(per_year=_number(path, "[distance]", distance, "per_year", 1.0),
                      max_years=int(_number(path, "[distance]", distance, "max_years", 6)),
                      approximate_region=_number(path, "[distance]", distance, "approximate_region", 2.0),
                      cover_levels=levels, proxies={k: tuple(v) for k, v in proxies.items()})
