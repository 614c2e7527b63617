"""When a source table counts as late: how long after its last refresh, by how often its publisher adds figures.

config/tables.toml states each CBS table's ``frequency``. A table CBS extends every month is late when it was not
refreshed for a month and a bit; a yearly one only after a year and a bit. The margins leave room for CBS's own
irregular release dates (a yearly table may come out weeks later than the year before). A table that gets no new
figures (``never``: a one-year table such as Kerncijfers wijken en buurten 2020) is never late. The Dagster
freshness policies (pipelines/expectations.py) are made from these windows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

FREQUENCIES = ("monthly", "quarterly", "yearly", "never")


@dataclass(frozen=True)
class LateAfter:
    """Warn when the last refresh is older than ``warn``; late (failing) when older than ``fail``."""

    warn: timedelta
    fail: timedelta

    def text(self) -> str:
        return f"warn after {self.warn.days} days, late after {self.fail.days} days"


LATE_AFTER: dict[str, LateAfter] = {
    "monthly": LateAfter(warn=timedelta(days=35), fail=timedelta(days=62)),
    "quarterly": LateAfter(warn=timedelta(days=100), fail=timedelta(days=190)),
    "yearly": LateAfter(warn=timedelta(days=380), fail=timedelta(days=430)),
}


def late_after(frequency: str) -> LateAfter | None:
    """The window of one frequency; None for a table that gets no new figures."""
    if frequency not in FREQUENCIES:
        raise ValueError(f"unknown frequency {frequency!r} (known: {', '.join(FREQUENCIES)})")
    return LATE_AFTER.get(frequency)


def tightest(frequencies: Iterable[str]) -> LateAfter | None:
    """The window of the most often refreshed table: what one asset holding all of them must keep up with."""
    windows = [w for w in map(late_after, frequencies) if w is not None]
    return min(windows, key=lambda w: w.fail, default=None)
