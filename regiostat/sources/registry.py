"""Every source of figures, one line each. A new source is a package under regiostat/sources/ that
implements :class:`regiostat.sources.protocol.Source`, plus its line here: its landing and raw steps,
its rows in staging and core, and its place in the reconciliation follow from the protocol."""

from __future__ import annotations

from regiostat.sources.cbs.source import CbsSource
from regiostat.sources.crosswalk.source import CrosswalkSource
from regiostat.sources.lisa.source import LisaSource
from regiostat.sources.protocol import Source

SOURCES: list[Source] = [
    CbsSource(),  # CBS StatLine tables (config/tables.toml): shipped copies or live
    LisaSource(),  # LISA employment-register exports dropped in the inbox
    CrosswalkSource(),  # municipality-COROP lists: region memberships
]


def sources() -> list[Source]:
    return list(SOURCES)


def source(name: str) -> Source:
    """The registered source called ``name`` (the ``source_kind`` of its rows)."""
    for s in SOURCES:
        if s.name == name:
            return s
    raise KeyError(f"no source {name!r} is registered (known: {', '.join(s.name for s in SOURCES)})")
