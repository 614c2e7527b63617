"""Has a CBS table changed since its last complete fetch? One small request answers it before any page is fetched.

v4 Properties state the table's ``Version`` and ``Modified``, v3 TableInfos its ``Modified``; every landed
file of a fetch is stamped with what they said when it was fetched. When CBS says the same now and the
newest complete fetch asked the same query (same URL, so the same ``$filter``), the table is unchanged:
nothing is downloaded and no new vintage is made. Without a stamp to compare (no TableInfos, no earlier
fetch) the table counts as changed: fetching too often is safe, missing a revision is not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from regiostat.landing.zone import LandingEntry, LandingZone
from regiostat.sources.cbs.catalog import TableSpec
from regiostat.sources.cbs.client import CbsClient, CbsFetchError


@dataclass(frozen=True)
class TableState:
    """What CBS says about a table now, and what its newest complete fetch of the same query was stamped with."""

    table_id: str
    modified: str | None
    version: str | None
    landed: LandingEntry | None  # the newest complete fetch of the same query, if any

    @property
    def unchanged(self) -> bool:
        return (self.landed is not None and self.modified is not None
                and (self.modified, self.version) == (self.landed.table_modified, self.landed.table_version))

    def report(self) -> dict[str, object]:
        """For the landing step's metadata and the catalog observations."""
        return {"cbs_modified": self.modified, "cbs_version": self.version, "changed": not self.unchanged,
                "last_complete_fetch": self.landed.fetch_id if self.landed else None,
                "last_fetched_at": self.landed.fetched_at if self.landed else None}


def table_state(client: CbsClient, zone: LandingZone, spec: TableSpec) -> TableState:
    """Ask CBS (one request: v4 Properties or v3 TableInfos) and compare with the landing zone."""
    if spec.api == "v4":
        props = client.v4.properties(spec.id).data
        modified, version = props.get("Modified"), props.get("Version")
        queries = {client.v4.observations_url(spec.id, spec.live_filter)}
    else:
        modified, version = _v3_modified(client, spec.id), None
        queries = {client.v3.typed_dataset_url(spec.id, spec.live_filter),
                   client.v3.feed_url(spec.id, spec.live_filter)}
    return TableState(spec.id, modified, version, last_complete(zone, spec.id, queries))


def last_complete(zone: LandingZone, table_id: str, queries: set[str] | None = None) -> LandingEntry | None:
    """The ``_complete`` entry of the table's newest complete fetch in use (of one of ``queries``, when given): a
    fetch that failed its raw checks is never what a table is compared with, so the table is fetched again."""
    done = [e for e in zone.usable_completes((table_id,)) if queries is None or e.origin in queries]
    return done[-1] if done else None


def _v3_modified(client: CbsClient, table_id: str) -> str | None:
    try:
        infos = client.v3.table_infos(table_id)
    except CbsFetchError as exc:
        if exc.status == 404:  # a table without TableInfos: nothing to compare, so it is fetched
            return None
        raise
    return ((infos.value or [{}])[0]).get("Modified")


def catalog_modified(client: CbsClient, apis: Iterable[str]) -> dict[tuple[str, str], str | None]:
    """(api, table id) -> ``Modified`` as the CBS catalog lists it (v4 Datasets, v3 ODataCatalog/Tables), for every
    table of the catalogs of ``apis``: one paged request per catalog, however many tables are configured."""
    found: dict[tuple[str, str], str | None] = {}
    for api in sorted(set(apis)):
        pages = client.v4.catalog() if api == "v4" else client.v3.catalog(select=("Identifier", "Modified"))
        for page in pages:
            for entry in page.value:
                if entry.get("Identifier"):
                    found[(api, str(entry["Identifier"]).upper())] = entry.get("Modified")
    return found


def latest_completes(zone: LandingZone) -> dict[str, LandingEntry]:
    """table id -> the ``_complete`` entry of its newest complete fetch in use, for every table, in one pass."""
    return {e.table_id: e for e in zone.usable_completes()}


def catalog_state(spec: TableSpec, listed: dict[tuple[str, str], str | None],
                  landed: dict[str, LandingEntry]) -> dict[str, object]:
    """What the catalog says about one configured table against its newest complete fetch. ``changed`` is a hint
    (the catalog's and the table's own dates may be written differently): the landing step checks precisely."""
    modified = listed.get((spec.api, spec.id))
    last = landed.get(spec.id)
    return {"cbs_modified": modified, "in_catalog": (spec.api, spec.id) in listed,
            "changed": last is None or modified is None or modified != last.table_modified,
            "last_complete_fetch": last.fetch_id if last else None,
            "last_fetched_at": last.fetched_at if last else None}
