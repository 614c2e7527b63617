"""What a source of figures is: the small protocol every source implements, and what it is given.

A source *lands* its files as received (a bundled copy, a live fetch, files dropped in an inbox)
and *reads* a landed, complete fetch into the common raw shape of
:mod:`regiostat.model.observations`, with its provenance. Everything after that is the same for
every source: staging, core, indicators, aggregation, harmonisation and the reconciliation read
one table of observations whose rows carry their ``source_kind``. What does differ per source is
asked of the source here, never decided by testing its name: how precisely its figures are
claimed (:meth:`Source.claim_basis`) and how far it is believed when figures disagree
(``authority``). Sources are listed in :mod:`regiostat.sources.registry`, one line each.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import polars as pl

from regiostat.landing.zone import LandingEntry, LandingZone
from regiostat.model.observations import Capture
from regiostat.paths import ProjectPaths

LandingReport = dict[str, object]  # what a landing step did, for the run's metadata (lists/dicts shown as JSON)


class SourceError(ValueError):
    """A source cannot land or read something; the message names the file, row and rule where it can."""


@dataclass(frozen=True)
class Feed:
    """One stream of files a source lands and reads on its own (a CBS table, the LISA inbox, a
    municipality list): it becomes one landing and one raw step, ``landing/<name>`` and ``raw/<name>``, or,
    for a partitioned source, one partition of ``landing/<source>`` and ``raw/<source>``."""

    name: str  # lower case, unique over all sources
    table_ids: tuple[str, ...]  # the landing zone's table ids it owns; its rows in raw.* carry them
    title: str  # what it is, for people
    licence: str  # how its figures may be used and attributed (core.dim_source_table)
    needs: tuple[str, ...] = ()  # feeds whose landing must run first (where they exist)
    file_kinds: tuple[str, ...] = ("csv",)  # what its files are, shown as the steps' kinds
    details: Mapping[str, str] = field(default_factory=dict)  # shown with the steps, e.g. {"cbs_table": ...}
    config: object = field(default=None, compare=False)  # what the source needs to land and read it

    @property
    def partition_key(self) -> str:
        """Its key among the partitions of its source's steps (a CBS table id), when the source is partitioned."""
        return self.table_ids[0] if len(self.table_ids) == 1 else self.name


@dataclass(frozen=True)
class HttpSettings:
    """Where and how patiently a source that fetches over HTTP asks."""

    endpoints: Mapping[str, str]  # base URLs by name, e.g. {"cbs_v4": "https://datasets.cbs.nl/odata/v1/CBS"}
    timeout_seconds: float = 60.0  # the longest wait for the next bytes
    max_retries: int = 5
    # bounds no upstream may exceed (see regiostat.sources.cbs.client.HttpLimits): a total deadline per request,
    # a body size after decompression, rows per page and pages per fetch
    deadline_seconds: float = 300.0
    max_body_bytes: int = 128 * 2**20
    max_rows_per_page: int = 200_000
    max_pages: int = 10_000


@dataclass(frozen=True)
class LandingContext:
    """What a landing step is given: the landing zone, the shipped copies, the mode and the folders."""

    zone: LandingZone
    paths: ProjectPaths  # the shipped (bundled) copies
    mode: str  # "bundled": the copies shipped with regiostat; "live": fetch, or take what the inbox holds
    quarantine_dir: Path
    inboxes: Mapping[str, Path] = field(default_factory=dict)  # source name -> folder its files are dropped in
    http: HttpSettings = field(default_factory=lambda: HttpSettings({}))
    log: Callable[[str], None] = print  # warnings a person should read
    progress: Callable[[str], None] | None = None  # for a person watching: a page landed, a table fetched

    def inbox(self, source: str) -> Path | None:
        return self.inboxes.get(source)


@dataclass(frozen=True)
class ClaimBasis:
    """How one figure of a source is claimed in the reconciliation: the half width of the interval its
    precision allows, and where it comes from."""

    half_width: float
    precision: str  # how the interval was derived, e.g. "x 1 000, 1 decimal(s)", "rounded to 10"
    source: str  # e.g. "CBS 83582NED", "LISA lisa_2017.tsv"
    location: str | None = None
    vintage: str | None = None
    status: str | None = None
    notes: str | None = None


class Source(Protocol):
    """A source of figures. ``name`` is the ``source_kind`` of every row it gives."""

    name: str
    title: str
    claim_kind: str  # the source kind its figures have as claims (reconcile.candidates.source_kind)
    claim_kind_nl: str  # how the decision sentences name it, e.g. "CBS-tabel"
    authority: int  # who is believed when figures cannot all be true: higher first (documents are 0)
    watches_inbox: bool  # files arrive by hand: a sensor watches inbox_files and starts <name>_refresh
    # Optional: partitioned = True makes the feeds partitions of one landing and one raw step (1,000 CBS tables are
    # two assets, not 2,000); sources without the attribute get a step per feed. A partitioned source may also have
    # catalog_states(feeds, ctx) -> {partition key: state dict with "changed"}: what its catalog says now, for a
    # sensor that refreshes only the changed partitions.

    def feeds(self, paths: ProjectPaths) -> list[Feed]:
        """The feeds this source has, as configured."""
        ...

    def land(self, feed: Feed, ctx: LandingContext) -> LandingReport:
        """Get the feed's files into the landing zone, as received; a file counts once its fetch is complete."""
        ...

    def read(self, zone: LandingZone, feed: Feed, fetches: list[LandingEntry]) -> list[Capture]:
        """Read complete fetches (their ``_complete`` entries, in landing order) into the common raw shape."""
        ...

    def claim_basis(self, staged: pl.DataFrame) -> Callable[[dict], ClaimBasis]:
        """Given all staged rows of this source, how one row (as a dict, with its ``year``) is claimed."""
        ...

    # Optional, for national-scale tables: ``claim_columns(staged) -> dict[str, pl.Expr]`` gives the same as
    # claim_basis as polars expressions over the staged rows (keys: the fields of ClaimBasis), so millions of
    # rows are claimed without a Python call per row; ``claim_evidence`` (SQL condition on staging.observations)
    # names the rows beyond the claimed ones those expressions look at. The reconciliation then reads only
    # those rows. A source without claim_columns is claimed row by row, from all its rows.

    def inbox_files(self, ctx: LandingContext) -> list[Path]:
        """The files waiting to be landed by hand (none for sources that are not fed by hand)."""
        ...


def complete_fetches(zone: LandingZone, feed: Feed) -> list[LandingEntry]:
    """The ``_complete`` entries of the feed's fetches, in landing order."""
    return zone.usable_completes(feed.table_ids)  # a failed or retired fetch is kept, and never read


def copy_bundled(zone: LandingZone, bundled: LandingZone, table_ids: tuple[str, ...]) -> int:
    """Import every complete fetch of ``table_ids`` from the shipped landing zone; files landed now."""
    fetches = [f for table_id in table_ids for f in bundled.complete_fetches(table_id)]
    return sum(zone.import_fetch(bundled, f) for f in fetches)
