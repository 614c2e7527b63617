"""Stream one CBS table into the landing zone, page by page, resumably.

CBS fetches are long and the API is flaky, so every response is landed the moment it arrives:
a failure loses nothing, and the next run of the same table continues the unfinished fetch from
the next link stored in its last landed page instead of starting over. A fetch is resumed only
if the table version and the query are unchanged; otherwise pages of two versions would mix.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial

from regiostat.landing.zone import FINISHED_ENTITIES, LandingEntry, LandingZone, new_fetch_id
from regiostat.sources.cbs.client import (
    LIMIT_SETTINGS,
    CbsClient,
    CbsFetchError,
    Page,
    TooManyRecordsError,
    UpstreamLimitError,
    next_link,
)

V4 = "cbs_v4"
V3_API = "cbs_v3_api"
V3_FEED = "cbs_v3_feed"
_V3_NOT_METADATA = {"TableInfos", "TypedDataSet", "UntypedDataSet"}
_DATA_ENTITIES = {"Observations", "TypedDataSet"}
OnPage = Callable[[int, int], None]  # (data page landed, rows landed so far): progress for a person watching


@dataclass(frozen=True)
class FetchResult:
    table_id: str
    fetch_id: str
    source: str  # where the observation pages came from
    pages: int  # observation pages in the fetch, including those landed by an earlier run
    rows: int
    resumed: bool
    requested_pages: int  # observation pages requested by this call


def fetch_v4_table(client: CbsClient, landing: LandingZone, table_id: str, *,
                   filter: str | None = None, on_page: OnPage | None = None) -> FetchResult:
    """Properties, Dimensions, MeasureCodes, every <Dim>Codes, then all Observations pages."""
    props = client.v4.properties(table_id)  # always fresh: it decides whether an open fetch may go on
    first_url = client.v4.observations_url(table_id, filter)
    run = _Run.open(landing, table_id, {V4}, first_urls={first_url},
                    modified=props.data.get("Modified"), version=props.data.get("Version"))
    run.single("Properties", V4, lambda: props)
    dims = run.single("Dimensions", V4, partial(client.v4.dimensions, table_id))
    run.single("MeasureCodes", V4, partial(client.v4.measure_codes, table_id))
    for dim in dims.get("value", []):
        if dim.get("ContainsCodes", True):
            run.single(f"{dim['Identifier']}Codes", V4, partial(client.v4.codes, table_id, dim["Identifier"]))
    link = run.continue_from("Observations", first_url)
    pages = client.v4.observations(table_id, resume_from=link) if link else ()
    return run.land_data("Observations", V4, pages, origin=first_url, max_pages=client.limits.max_pages,
                         table_rows=_count(props.data.get("ObservationCount")), on_page=on_page)


def fetch_v3_table(client: CbsClient, landing: LandingZone, table_id: str, *,
                   filter: str | None = None, on_page: OnPage | None = None) -> FetchResult:
    """Every entity set the table lists, then TypedDataSet: ODataApi if it fits, else the ODataFeed.

    v3 keys arrive padded ('CR08  '); they are landed exactly as received.
    """
    service = client.v3.service_document(table_id)
    names = [s["name"] for s in service.data.get("value", [])]
    infos = client.v3.table_infos(table_id) if "TableInfos" in names else None
    info = (infos.value or [{}])[0] if infos else {}
    modified = info.get("Modified")
    # RecordCount counts the whole table: what an unfiltered fetch must land, and what makes 0 rows an error
    table_rows = _count(info.get("RecordCount"))
    bounds = dict(max_pages=client.limits.max_pages, table_rows=table_rows,
                  announced=table_rows if filter is None else None)
    api_url, feed_url = client.v3.typed_dataset_url(table_id, filter), client.v3.feed_url(table_id, filter)
    run = _Run.open(landing, table_id, {V3_API, V3_FEED}, first_urls={api_url, feed_url},
                    modified=modified, version=None)
    run.single("ServiceDocument", V3_API, lambda: service)
    if infos is not None:
        run.single("TableInfos", V3_API, lambda: infos)
    for name in names:
        if name not in _V3_NOT_METADATA:
            run.single(name, V3_API, partial(client.v3.entity, table_id, name))

    landed = run.landed_pages("TypedDataSet")
    if landed:  # resuming: go on the way the interrupted run went
        source, origin = landed[0].source, landed[0].origin
        link = run.continue_from("TypedDataSet", origin)
        pages: Iterable[Page] = client.v3.feed_typed_dataset(table_id, resume_from=link) if link else ()
        return run.land_data("TypedDataSet", source, pages, origin=origin, on_page=on_page, **bounds)
    try:
        page = client.v3.typed_dataset(table_id, filter=filter)
    except TooManyRecordsError:
        return run.land_data("TypedDataSet", V3_FEED, client.v3.feed_typed_dataset(table_id, filter=filter),
                             origin=feed_url, on_page=on_page, **bounds)
    # an ODataApi answer may carry a next link too (CBS has sent a large TypedDataSet's first 10,000 rows that
    # way): it is followed like the feed's, never dropped
    return run.land_data("TypedDataSet", V3_API, client.v3.pages_from(page, table_id), origin=api_url,
                         on_page=on_page, **bounds)


class _Run:
    """One fetch of one table: its id, what it has landed so far, and the version stamped on each file."""

    def __init__(self, landing: LandingZone, table_id: str, fetch_id: str, landed: list[LandingEntry], *,
                 modified: str | None, version: str | None):
        self.landing, self.table_id, self.fetch_id = landing, table_id, fetch_id
        self.landed = landed
        self.resumed = bool(landed)
        self.stamp = {"table_modified": modified, "table_version": version}

    @classmethod
    def open(cls, landing: LandingZone, table_id: str, sources: set[str], *, first_urls: set[str],
             modified: str | None, version: str | None) -> _Run:
        """Continue the newest fetch of this table if it never completed, else start a new one."""
        mine = [e for e in landing.rows_of_tables([table_id]) if e.source in sources]
        if mine:
            fetch_id = mine[-1].fetch_id
            files = [e for e in mine if e.fetch_id == fetch_id]
            unfinished = all(e.entity not in FINISHED_ENTITIES for e in files)  # never resume a retired fetch
            same_version = all((e.table_modified, e.table_version) == (modified, version) for e in files)
            same_query = all(e.origin in first_urls for e in files if e.page == 1 and e.entity in _DATA_ENTITIES)
            run = cls(landing, table_id, fetch_id, files, modified=modified, version=version)
            if unfinished and same_version and same_query and not run.ended():
                return run
        return cls(landing, table_id, new_fetch_id(table_id), [], modified=modified, version=version)

    def ended(self) -> bool:
        """Its last data page has no next link, yet it never completed: it failed its checks at the end (fewer
        rows than announced, no rows at all). Resuming would only repeat that; a new fetch asks again."""
        data = [e for e in self.landed if e.entity in _DATA_ENTITIES]
        if not data:
            return False
        last = max(data, key=lambda e: e.page)
        return next_link(json.loads(self.landing.read_bytes(last))) is None

    def landed_pages(self, entity: str) -> list[LandingEntry]:
        return sorted((e for e in self.landed if e.entity == entity), key=lambda e: e.page)

    def single(self, entity: str, source: str, get: Callable[[], Page]) -> dict:
        """A metadata response: read back if this fetch landed it already, else fetched and landed."""
        done = self.landed_pages(entity)
        if done:
            return json.loads(self.landing.read_bytes(done[0]))
        page = get()
        if page.next_link:
            raise CbsFetchError(f"{entity} came back paged; metadata paging is not supported",
                                table_id=self.table_id, url=page.url)
        self._write(page, source=source, entity=entity, page_no=1)
        return page.data

    def continue_from(self, entity: str, first_url: str) -> str | None:
        """Where data paging goes on: the first URL, the last landed page's next link, or None if done."""
        landed = self.landed_pages(entity)
        if not landed:
            return first_url
        return next_link(json.loads(self.landing.read_bytes(landed[-1])))

    def land_data(self, entity: str, source: str, pages: Iterable[Page], *, origin: str, max_pages: int,
                  table_rows: int | None = None, announced: int | None = None,
                  on_page: OnPage | None = None) -> FetchResult:
        """Land the data pages, then mark the fetch complete only if it holds what the source announced:
        ``announced`` rows (or the ``@odata.count`` a page states), and some rows if the table has
        ``table_rows``. A fetch that falls short keeps its pages (for inspection) and is never complete."""
        landed = self.landed_pages(entity)
        page_no, rows, requested = len(landed), sum(e.rows or 0 for e in landed), 0
        for page in pages:
            page_no, requested = page_no + 1, requested + 1
            if page_no > max_pages:
                raise UpstreamLimitError(f"the fetch goes on past {max_pages:,} pages ({LIMIT_SETTINGS['max_pages']})",
                                         table_id=self.table_id, url=page.url)
            announced = page.announced_rows if page.announced_rows is not None else announced
            self._write(page, source=source, entity=entity, page_no=page_no)
            rows += page.row_count or 0
            if announced is not None and rows > announced:
                raise CbsFetchError(f"{rows:,} rows landed, more than the {announced:,} the source announced "
                                    "(a paging loop?); the fetch is not complete", table_id=self.table_id, url=page.url)
            if on_page is not None:
                on_page(page_no, rows)
        self._check_rows(rows, announced, table_rows, origin)
        self.landing.mark_complete(self.table_id, self.fetch_id, source=source, origin=origin, rows=rows,
                                   data_entity=entity, **self.stamp)
        return FetchResult(table_id=self.table_id.upper(), fetch_id=self.fetch_id, source=source, pages=page_no,
                           rows=rows, resumed=self.resumed, requested_pages=requested)

    def _check_rows(self, rows: int, announced: int | None, table_rows: int | None, origin: str) -> None:
        if announced is not None and rows < announced:
            raise CbsFetchError(f"the answer ends after {rows:,} rows, but the source announced {announced:,}; "
                                "the fetch is not complete", table_id=self.table_id, url=origin)
        if rows == 0 and table_rows:
            raise CbsFetchError(f"the answer holds no rows, while the table's metadata says it has {table_rows:,}; "
                                "the fetch is not complete (check the live_filter, or the server)",
                                table_id=self.table_id, url=origin)

    def _write(self, page: Page, *, source: str, entity: str, page_no: int) -> None:
        entry = self.landing.write(page.body, source=source, table_id=self.table_id, entity=entity, page=page_no,
                                   origin=page.url, fetch_id=self.fetch_id, media_type="application/json",
                                   rows=page.row_count, **self.stamp)
        self.landed.append(entry)



def _count(value: object) -> int | None:
    """A row count as the metadata states it (a number, or v3's text), else None."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None
