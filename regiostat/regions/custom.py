"""Custom regions from config/regions.toml, checked against the CBS region code list.

A member may hold for some years only (``valid_from`` / ``valid_to``, years, both inclusive): a
grouping that gains a municipality in 2021 keeps its 2020 figures on the members it had then. A
region may also list the same territory at another level (``members_by_level``), e.g.
Oost-Nederland as the provinces PV23 + PV25 and as the COROP regions CR10-CR16, so that figures a
source publishes only for COROP regions are summed over COROP regions with their own coverage.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from regiostat.codes import region_level
from regiostat.configkeys import ConfigError, check_file_keys, check_keys
from regiostat.regions.harmonisation import WEIGHTS

_ID = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
PRIMARY = "members"  # the member_set of a region's own member list; alternatives are named by their level
KEYS = {
    "file": ("region", "harmonisation"),
    "region": ("id", "name", "members", "description", "members_by_level"),
    "member": ("code", "valid_from", "valid_to"),
    "harmonisation": ("boundary_years", "weight"),
}


class RegionConfigError(ConfigError):
    """config/regions.toml is malformed or names a region code CBS does not know."""


@dataclass(frozen=True)
class Member:
    """A member region code and the years it belongs to the custom region (None: open-ended)."""

    code: str
    valid_from: int | None = None
    valid_to: int | None = None

    def holds_in(self, year: int) -> bool:
        return (self.valid_from is None or self.valid_from <= year) and (self.valid_to is None or year <= self.valid_to)


@dataclass(frozen=True)
class CustomRegion:
    id: str
    name: str
    members: tuple[str, ...]  # every member code of the region's own list, whatever its years
    description: str = ""
    member_periods: tuple[Member, ...] = ()  # the same list with validity; empty = every member always
    members_by_level: dict[str, tuple[Member, ...]] = field(default_factory=dict)

    def member_sets(self) -> dict[str, tuple[Member, ...]]:
        """The region's own list first, then the lists of the same territory at other levels."""
        return {PRIMARY: self.member_periods or tuple(Member(m) for m in self.members), **self.members_by_level}

    def members_in(self, year: int, member_set: str = PRIMARY) -> tuple[str, ...]:
        """The member codes of one list that belong to the region in ``year``."""
        return tuple(m.code for m in self.member_sets()[member_set] if m.holds_in(year))


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
    check_file_keys(path, data, KEYS["file"], RegionConfigError)
    regions, seen = [], set()
    for n, raw in enumerate(data.get("region", []), start=1):
        region = _region(path, n, raw, known_codes)
        if region.id in seen:
            raise RegionConfigError(f"{path}: [[region]] {region.id!r}: id is used twice")
        seen.add(region.id)
        regions.append(region)
    harm = data.get("harmonisation", {})
    check_keys(path, "[harmonisation]", harm, KEYS["harmonisation"], RegionConfigError)
    years = harm.get("boundary_years", [])
    if not all(isinstance(y, int) and 1900 < y < 2100 for y in years):
        raise RegionConfigError(f"{path}: [harmonisation] boundary_years must be years, got {years!r}")
    weight = harm.get("weight", "inhabitants")
    if weight not in WEIGHTS:
        raise RegionConfigError(f"{path}: [harmonisation] weight must be {' or '.join(map(repr, WEIGHTS))}, "
                                f"got {weight!r}")
    return RegionConfig(tuple(regions), tuple(years), weight)


def _region(path: Path, n: int, raw: dict, known_codes: set[str] | None) -> CustomRegion:
    rid = raw.get("id") if isinstance(raw, dict) else None
    where = f"[[region]] {rid!r}" if rid else f"[[region]] #{n}"
    check_keys(path, where, raw, KEYS["region"], RegionConfigError)
    if not isinstance(rid, str) or not _ID.match(rid):
        raise RegionConfigError(f"{path}: {where}: 'id' must be lower-case letters, digits and underscores, "
                                f"got {rid!r}")
    members = _members(path, where, "members", raw.get("members"), known_codes)
    if not isinstance(raw.get("name"), str) or not raw["name"].strip():
        raise RegionConfigError(f"{path}: {where}: 'name' is required")
    by_level = raw.get("members_by_level", {})
    check_keys(path, f"{where} members_by_level", by_level, sorted(_LEVELS), RegionConfigError)
    alternatives = {}
    for level, listed in by_level.items():
        alternatives[level] = _members(path, where, f"members_by_level.{level}", listed, known_codes)
        wrong = [m.code for m in alternatives[level] if region_level(m.code) != level]
        if wrong:
            raise RegionConfigError(f"{path}: {where}: key 'members_by_level.{level}': {', '.join(wrong)} "
                                    f"not at level {level}")
    timed = any(m.valid_from is not None or m.valid_to is not None for m in members)
    return CustomRegion(rid, raw["name"], tuple(m.code for m in members), raw.get("description", ""),
                        members if timed else (), alternatives)


_LEVELS = {"gemeente", "corop", "provincie", "landsdeel", "arbeidsmarktregio"}


def _members(path: Path, where: str, key: str, listed: object, known_codes: set[str] | None) -> tuple[Member, ...]:
    """A member list: region codes, or tables {code, valid_from, valid_to} for members that hold some years."""
    if not isinstance(listed, list) or not listed:
        raise RegionConfigError(f"{path}: {where}: '{key}' must be a non-empty list of CBS region codes")
    members = tuple(_member(path, f"{where} {key}", m) for m in listed)
    codes = [m.code for m in members]
    if len(set(codes)) != len(codes):
        raise RegionConfigError(f"{path}: {where}: a member is listed twice in '{key}'")
    if known_codes is not None:
        unknown = [c for c in codes if c not in known_codes]
        if unknown:
            raise RegionConfigError(f"{path}: {where}: unknown region code(s) {', '.join(unknown)} "
                                    "(not in the CBS region code list)")
    return members


def _member(path: Path, where: str, raw: object) -> Member:
    if isinstance(raw, str):
        return Member(raw)
    check_keys(path, f"{where} member", raw, KEYS["member"], RegionConfigError)
    code, start, end = raw.get("code"), raw.get("valid_from"), raw.get("valid_to")
    if not isinstance(code, str):
        raise RegionConfigError(f"{path}: {where}: a member table needs 'code' (a CBS region code), got {raw!r}")
    for key, year in (("valid_from", start), ("valid_to", end)):
        if year is not None and not (isinstance(year, int) and 1800 < year < 2200):
            raise RegionConfigError(f"{path}: {where} member {code}: key {key!r} must be a year, got {year!r}")
    if start is not None and end is not None and start > end:
        raise RegionConfigError(f"{path}: {where} member {code}: valid_from {start} is after valid_to {end}")
    return Member(code, start, end)
