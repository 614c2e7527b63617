"""Custom regions from config/regions.toml, checked against the CBS region code list."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from regiostat.regions.harmonisation import WEIGHTS

_ID = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


class RegionConfigError(ValueError):
    """config/regions.toml is malformed or names a region code CBS does not know."""


@dataclass(frozen=True)
class CustomRegion:
    id: str
    name: str
    members: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True)
class RegionConfig:
    regions: tuple[CustomRegion, ...]
    boundary_years: tuple[int, ...] = ()
    weight: str = "inhabitants"


def load_region_config(path: Path | str, *, known_codes: set[str] | None = None) -> RegionConfig:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RegionConfigError(f"{path}: not valid TOML: {exc}") from exc
    regions, seen = [], set()
    for n, raw in enumerate(data.get("region", []), start=1):
        rid = raw.get("id")
        where = f"{path}: [[region]] {rid!r}" if rid else f"{path}: [[region]] #{n}"
        if not isinstance(rid, str) or not _ID.match(rid):
            raise RegionConfigError(f"{where}: 'id' must be lower-case letters, digits and underscores, got {rid!r}")
        if rid in seen:
            raise RegionConfigError(f"{where}: id is used twice")
        seen.add(rid)
        members = raw.get("members")
        if not isinstance(members, list) or not members or not all(isinstance(m, str) for m in members):
            raise RegionConfigError(f"{where}: 'members' must be a non-empty list of CBS region codes")
        if len(set(members)) != len(members):
            raise RegionConfigError(f"{where}: a member is listed twice")
        if known_codes is not None:
            unknown = [m for m in members if m not in known_codes]
            if unknown:
                raise RegionConfigError(f"{where}: unknown region code(s) {', '.join(unknown)} "
                                        "(not in the CBS region code list)")
        if not isinstance(raw.get("name"), str) or not raw["name"].strip():
            raise RegionConfigError(f"{where}: 'name' is required")
        regions.append(CustomRegion(rid, raw["name"], tuple(members), raw.get("description", "")))
    harm = data.get("harmonisation", {})
    years = harm.get("boundary_years", [])
    if not all(isinstance(y, int) and 1900 < y < 2100 for y in years):
        raise RegionConfigError(f"{path}: [harmonisation] boundary_years must be years, got {years!r}")
    weight = harm.get("weight", "inhabitants")
    if weight not in WEIGHTS:
        raise RegionConfigError(f"{path}: [harmonisation] weight must be {' or '.join(map(repr, WEIGHTS))}, "
                                f"got {weight!r}")
    return RegionConfig(tuple(regions), tuple(years), weight)
