"""HTTP client for the CBS open-data APIs: v4 (datasets.cbs.nl) and v3 (opendata.cbs.nl).

All network policy lives here and nowhere else: timeouts, retries with backoff, ``Retry-After``,
and checking that a body is a whole JSON document before anyone lands it. Responses come back
one page at a time with their raw bytes, so callers can land exactly what CBS sent and never
hold a whole table in memory.

An upstream is never trusted to be finite or to stay where it was configured (:class:`HttpLimits`):
every request has a total deadline (a socket timeout alone lets a server that drips one byte at a
time hold a fetch for ever), bodies are capped after decompression, pages are capped in rows and
per fetch, only the configured origins (scheme, host, port) are contacted, next links may not
leave the origin they were found on, redirects are not followed, and credentials from a base URL
go only to that URL's origin.
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import quote

import requests
import urllib3

USER_AGENT = "regiostat (CBS open data client; polite: bounded retries with backoff)"

# The v3 ODataApi refuses queries above 10,000 cells with an HTTP 500 whose text says so
# ("query returns more than 10000 records"); match loosely, CBS has varied the wording.
_TOO_MANY = re.compile(rb"(more than|meer dan)\s+10[.,]?000\s+(records|rijen|cells)", re.IGNORECASE)
_NAME = re.compile(r"^[A-Za-z0-9_]+$")
_QUERY_SAFE = "'(),"  # keep OData quotes and parentheses readable; spaces become %20, never '+'

V3_CATALOG_FIELDS = ("Identifier", "Title", "ShortTitle", "Modified", "MetaDataModified", "Updated",
                     "ReasonDelivery", "OutputStatus", "RecordCount", "ApiUrl", "FeedUrl")


class CbsFetchError(RuntimeError):
    """A response that could not be had; the message names the table and the URL."""

    def __init__(self, message: str, *, table_id: str, url: str, status: int | None = None):
        super().__init__(f"{table_id}: {message} [{url}]")
        self.table_id = table_id
        self.url = url
        self.status = status


class TooManyRecordsError(CbsFetchError):
    """The v3 ODataApi caps answers at 10,000 cells; the ODataFeed pages instead. Never retried."""


class UpstreamLimitError(CbsFetchError):
    """An answer broke a bound of :class:`HttpLimits` or left the configured origin. Never retried: the
    same request would get the same answer. The message names the limit and the setting that sets it."""


@dataclass(frozen=True)
class HttpLimits:
    """What one upstream may cost at most. Defaults are generous for CBS (v3 feed pages hold 10,000 rows,
    v4 pages tens of MB) and small enough that a hostile or broken server cannot hang or exhaust a run."""

    deadline_seconds: float = 300.0  # one request, from sending it to the last body byte
    max_body_bytes: int = 128 * 2**20  # one response body after gzip/deflate decoding
    max_rows_per_page: int = 200_000
    max_pages: int = 10_000  # data pages of one fetch

    def __post_init__(self) -> None:
        for name, setting in LIMIT_SETTINGS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"{setting} must be a number above 0, got {value!r}")


# the environment variable (and RegiostatSettings field, in lower case without the prefix) of each limit
LIMIT_SETTINGS = {"deadline_seconds": "REGIOSTAT_HTTP_DEADLINE_SECONDS",
                  "max_body_bytes": "REGIOSTAT_HTTP_MAX_BODY_BYTES",
                  "max_rows_per_page": "REGIOSTAT_HTTP_MAX_ROWS_PER_PAGE",
                  "max_pages": "REGIOSTAT_HTTP_MAX_PAGES"}
_CHUNK = 64 * 1024  # bytes read (and decoded) at a time; one socket read each, so the deadline is checked often


@dataclass(frozen=True)
class CbsEndpoints:
    v4: str = "https://datasets.cbs.nl/odata/v1/CBS"
    v4_catalog: str = "https://datasets.cbs.nl/odata/v1/CBS/Datasets"
    v3_api: str = "https://opendata.cbs.nl/ODataApi/odata"
    v3_feed: str = "https://opendata.cbs.nl/ODataFeed/odata"
    v3_catalog: str = "https://opendata.cbs.nl/ODataCatalog/Tables"

    @classmethod
    def under(cls, root: str) -> CbsEndpoints:
        """The same paths on another host (a mirror, a proxy or a test server)."""
        root = root.rstrip("/")
        return cls(v4=f"{root}/odata/v1/CBS", v4_catalog=f"{root}/odata/v1/CBS/Datasets",
                   v3_api=f"{root}/ODataApi/odata", v3_feed=f"{root}/ODataFeed/odata",
                   v3_catalog=f"{root}/ODataCatalog/Tables")


@dataclass(frozen=True)
class Page:
    """One response: the URL asked for, the bytes as received, and those bytes parsed."""

    url: str
    body: bytes
    data: dict

    @property
    def value(self) -> list[dict]:
        value = self.data.get("value")
        return value if isinstance(value, list) else []

    @property
    def row_count(self) -> int | None:
        """Rows in an entity-set page; None for a single entity such as v4 Properties."""
        return len(self.data["value"]) if isinstance(self.data.get("value"), list) else None

    @property
    def next_link(self) -> str | None:
        return next_link(self.data)

    @property
    def announced_rows(self) -> int | None:
        """The rows the server says the whole answer has (``@odata.count`` / v3 ``odata.count``), if it says."""
        count = self.data.get("@odata.count", self.data.get("odata.count"))
        if isinstance(count, str) and count.strip().isdigit():
            return int(count)
        return count if isinstance(count, int) and not isinstance(count, bool) else None


def next_link(data: dict) -> str | None:
    """v4 says ``@odata.nextLink``, v3 says ``odata.nextLink``."""
    return data.get("@odata.nextLink") or data.get("odata.nextLink") or None


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in: what "the same server" means."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:  # a port that is not a number
        port = -1
    return scheme, (parts.hostname or "").lower(), port or {"http": 80, "https": 443}.get(scheme)


def _show_origin(where: tuple[str, str, int | None]) -> str:
    return f"{where[0]}://{where[1]}:{where[2]}"


class _Retry(Exception):
    """Internal: this attempt failed in a way worth another try."""

    def __init__(self, problem: str, status: int | None = None, wait: float | None = None):
        super().__init__(problem)
        self.problem, self.status, self.wait = problem, status, wait


def _without_credentials(endpoints: CbsEndpoints) -> tuple[CbsEndpoints, dict[tuple, tuple[str, str]]]:
    """Move ``user:secret@`` out of the base URLs: URLs end up in the landing manifest, the warehouse
    and error messages, credentials must not. Returns the clean endpoints and the credentials by origin:
    they are sent to the origin they were given for and to no other."""
    auth: dict[tuple, tuple[str, str]] = {}
    clean = {}
    for name, url in dataclasses.asdict(endpoints).items():
        parts = urllib.parse.urlsplit(url)
        if parts.username is not None or parts.password is not None:
            host = parts.hostname or ""
            netloc = f"{host}:{parts.port}" if parts.port else host
            url = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
            auth[origin(url)] = (urllib.parse.unquote(parts.username or ""), urllib.parse.unquote(parts.password or ""))
        clean[name] = url
    return CbsEndpoints(**clean), auth


class CbsClient:
    """Shared transport; ``client.v4`` and ``client.v3`` build the URLs."""

    def __init__(
        self,
        endpoints: CbsEndpoints | None = None,
        *,
        timeout: tuple[float, float] = (10.0, 120.0),
        max_retries: int = 5,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        jitter: float = 0.1,
        limits: HttpLimits | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ):
        self.session = session or requests.Session()
        # a mirror behind basic auth: the credentials go as a header to their own origin, never into URLs
        self.endpoints, self._auth = _without_credentials(endpoints or CbsEndpoints())
        self.origins = {origin(url) for url in dataclasses.asdict(self.endpoints).values()}
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.jitter = jitter  # fraction added on top of the backoff; 0 makes waits exact
        self.limits = limits or HttpLimits()
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.v4 = V4Api(self)
        self.v3 = V3Api(self)

    def get(self, url: str, *, table_id: str) -> Page:
        """One whole JSON response, retried on transient failures until ``max_retries`` run out."""
        if origin(url) not in self.origins:  # e.g. a stored next link from an earlier run, or a hostile one
            raise UpstreamLimitError(f"refusing {url}: it is not on a configured origin "
                                     f"({', '.join(sorted(_show_origin(o) for o in self.origins))})",
                                     table_id=table_id, url=url)
        for attempt in range(self.max_retries + 1):
            try:
                return self._get_once(url, table_id)
            except _Retry as retry:
                if attempt == self.max_retries:
                    raise CbsFetchError(f"gave up after {attempt + 1} attempts: {retry.problem}",
                                        table_id=table_id, url=url, status=retry.status) from None
                self.sleep(retry.wait if retry.wait is not None else self._backoff(attempt))
        raise AssertionError("unreachable")

    def pages(self, url: str, *, table_id: str, fix_link: Callable[[str], str] = lambda u: u) -> Iterator[Page]:
        """Follow next links lazily, one page in memory at a time, on the origin paging started on and for
        at most ``limits.max_pages`` pages."""
        seen: set[str] = set()
        while url:
            if url in seen:
                raise CbsFetchError("the server sent a next link that was already followed", table_id=table_id, url=url)
            if len(seen) == self.limits.max_pages:
                raise UpstreamLimitError(f"the answer goes on past {self.limits.max_pages:,} pages "
                                         f"({LIMIT_SETTINGS['max_pages']}); a paging loop?", table_id=table_id, url=url)
            seen.add(url)
            page = self.get(url, table_id=table_id)
            yield page
            url = self.follow(page, table_id=table_id, fix_link=fix_link) or ""

    def follow(self, page: Page, *, table_id: str, fix_link: Callable[[str], str] = lambda u: u) -> str | None:
        """The page's next link as a URL to request, or None on the last page; a link that leaves the page's
        origin, carries credentials, or comes on an empty page stops the fetch."""
        link = page.next_link
        if not link:
            return None
        if not isinstance(link, str):
            raise CbsFetchError(f"the next link is not a URL: {link!r}", table_id=table_id, url=page.url)
        url = fix_link(urllib.parse.urljoin(page.url, link))
        if origin(url) != origin(page.url):
            raise UpstreamLimitError(f"the next link {url} leaves the origin {_show_origin(origin(page.url))} of "
                                     f"{page.url}; not followed", table_id=table_id, url=page.url)
        parts = urllib.parse.urlsplit(url)
        if parts.username is not None or parts.password is not None:
            raise UpstreamLimitError("the next link carries credentials; not followed", table_id=table_id,
                                     url=page.url)
        if page.row_count == 0:
            raise CbsFetchError(f"an empty page links to a next page ({url}); a paging loop?", table_id=table_id,
                                url=page.url)
        return url

    def _get_once(self, url: str, table_id: str) -> Page:
        deadline = time.monotonic() + self.limits.deadline_seconds
        try:
            resp = self.session.get(url, timeout=(self.timeout[0], min(self.timeout[1], self.limits.deadline_seconds)),
                                    headers={"Accept": "application/json", "User-Agent": USER_AGENT},
                                    auth=self._auth.get(origin(url)), stream=True, allow_redirects=False)
            try:
                body = self._read_body(resp, url, table_id, deadline)
            except BaseException:
                resp.close()  # the connection is in an unknown state: never reused
                raise
            resp.raw.release_conn()  # read to its end: the connection may serve the next page
        except (requests.RequestException, OSError) as exc:
            if time.monotonic() >= deadline:
                raise _Retry(f"no whole answer within the {self.limits.deadline_seconds:g} s deadline per request "
                             f"({LIMIT_SETTINGS['deadline_seconds']}); {type(exc).__name__}") from exc
            raise _Retry(f"{type(exc).__name__}: {exc}") from exc
        return self._page(url, table_id, resp, body)

    def _read_body(self, resp: requests.Response, url: str, table_id: str, deadline: float) -> bytes:
        """The decoded body, read one socket read at a time so that neither the deadline nor the size cap can
        be outrun (a gzip body is decoded a chunk at a time, never inflated whole)."""
        cap = self.limits.max_body_bytes
        sock = getattr(getattr(resp.raw, "connection", None), "sock", None)
        chunks, size = [], 0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{size:,} bytes received")
            if sock is not None:
                sock.settimeout(min(left, self.timeout[1]))  # every wait for bytes ends by the deadline
            chunk = _read1(resp)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > cap:
                raise UpstreamLimitError(f"the answer is larger than {cap:,} bytes after decoding "
                                         f"({LIMIT_SETTINGS['max_body_bytes']}); not read further",
                                         table_id=table_id, url=url, status=resp.status_code)
            chunks.append(chunk)

    def _page(self, url: str, table_id: str, resp: requests.Response, body: bytes) -> Page:
        status = resp.status_code
        if status == 500 and _TOO_MANY.search(body):
            raise TooManyRecordsError("the v3 ODataApi refuses more than 10,000 records; use the ODataFeed",
                                      table_id=table_id, url=url, status=status)
        if status == 429 or status >= 500:
            raise _Retry(f"HTTP {status}: {_snippet(body)}", status, self._retry_after(resp.headers.get("Retry-After")))
        if 300 <= status < 400:
            raise UpstreamLimitError(f"HTTP {status} redirect to {resp.headers.get('Location')!r}; redirects are not "
                                     "followed (point the base URL at where the data is)", table_id=table_id, url=url,
                                     status=status)
        if status >= 300:
            raise CbsFetchError(f"HTTP {status} (not retried): {_snippet(body)}", table_id=table_id, url=url,
                                status=status)
        try:
            data = json.loads(body)
        except ValueError:
            raise _Retry(f"HTTP {status} with {_describe_bad_body(body, resp.headers.get('Content-Type', ''))}",
                         status) from None
        if not isinstance(data, dict):
            raise _Retry(f"JSON is not an object: {_snippet(body)}", status)
        page = Page(url=url, body=body, data=data)
        if (page.row_count or 0) > self.limits.max_rows_per_page:
            raise UpstreamLimitError(f"one page holds {page.row_count:,} rows, more than "
                                     f"{self.limits.max_rows_per_page:,} ({LIMIT_SETTINGS['max_rows_per_page']})",
                                     table_id=table_id, url=url, status=status)
        return page

    def _backoff(self, attempt: int) -> float:
        wait = self.backoff_base * 2**attempt
        return min(self.backoff_max, wait * (1 + self.jitter * self.rng.random()))

    def _retry_after(self, header: str | None) -> float | None:
        """Seconds the server asked us to wait (delta or HTTP-date), capped at ``backoff_max``."""
        if not header:
            return None
        header = header.strip()
        if header.isdigit():
            seconds = float(header)
        else:
            try:
                when = parsedate_to_datetime(header)
            except (TypeError, ValueError):
                return None
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            seconds = (when - datetime.now(UTC)).total_seconds()
        return min(max(seconds, 0.0), self.backoff_max)


class V4Api:
    """datasets.cbs.nl/odata/v1/CBS/<table>/<entity>; JSON is the default format."""

    def __init__(self, client: CbsClient):
        self._client = client

    def url(self, table: str, entity: str, **params: str | None) -> str:
        return with_query(f"{self._client.endpoints.v4}/{_name(table)}/{_name(entity)}", params)

    def properties(self, table: str) -> Page:
        return self._client.get(self.url(table, "Properties"), table_id=table)

    def dimensions(self, table: str) -> Page:
        return self._client.get(self.url(table, "Dimensions"), table_id=table)

    def measure_codes(self, table: str) -> Page:
        return self._client.get(self.url(table, "MeasureCodes"), table_id=table)

    def codes(self, table: str, dimension: str) -> Page:
        return self._client.get(self.url(table, f"{_name(dimension)}Codes"), table_id=table)

    def observations_url(self, table: str, filter: str | None = None) -> str:
        return self.url(table, "Observations", **{"$filter": filter})

    def observations(self, table: str, filter: str | None = None, resume_from: str | None = None) -> Iterator[Page]:
        """All observation pages; ``resume_from`` is a next link kept from an earlier, interrupted run."""
        return self._client.pages(resume_from or self.observations_url(table, filter), table_id=table)

    def catalog(self) -> Iterator[Page]:
        return self._client.pages(self._client.endpoints.v4_catalog, table_id="catalog")


class V3Api:
    """opendata.cbs.nl ODataApi (<= 10,000 cells, one response) and ODataFeed (paged); always JSON."""

    def __init__(self, client: CbsClient):
        self._client = client

    def url(self, base: str, table: str, entity: str = "", **params: str | None) -> str:
        path = f"{base}/{_name(table)}" + (f"/{_name(entity)}" if entity else "")
        return with_query(path, {"$format": "json", **params})

    def service_document(self, table: str) -> Page:
        """The table root: lists its entity sets (TableInfos, DataProperties, each dimension, ...)."""
        return self._client.get(self.url(self._client.endpoints.v3_api, table), table_id=table)

    def entity(self, table: str, entity: str) -> Page:
        return self._client.get(self.url(self._client.endpoints.v3_api, table, entity), table_id=table)

    def table_infos(self, table: str) -> Page:
        return self.entity(table, "TableInfos")

    def data_properties(self, table: str) -> Page:
        return self.entity(table, "DataProperties")

    def dimension(self, table: str, dimension: str) -> Page:
        return self.entity(table, dimension)

    def typed_dataset_url(self, table: str, filter: str | None = None, select: Sequence[str] | None = None) -> str:
        return self.url(self._client.endpoints.v3_api, table, "TypedDataSet",
                        **{"$filter": filter, "$select": ",".join(select) if select else None})

    def typed_dataset(self, table: str, filter: str | None = None, select: Sequence[str] | None = None) -> Page:
        """Raises TooManyRecordsError when the answer would exceed 10,000 cells."""
        return self._client.get(self.typed_dataset_url(table, filter, select), table_id=table)

    def pages_from(self, page: Page, table: str) -> Iterator[Page]:
        """``page`` and every page its next links lead to (an ODataApi answer that came back paged)."""
        yield page
        link = self._client.follow(page, table_id=table, fix_link=_json_link)
        if link:
            yield from self._client.pages(link, table_id=table, fix_link=_json_link)

    def feed_url(self, table: str, filter: str | None = None) -> str:
        return self.url(self._client.endpoints.v3_feed, table, "TypedDataSet", **{"$filter": filter})

    def feed_typed_dataset(self, table: str, filter: str | None = None,
                           resume_from: str | None = None) -> Iterator[Page]:
        return self._client.pages(_json_link(resume_from) if resume_from else self.feed_url(table, filter),
                                  table_id=table, fix_link=_json_link)

    def catalog(self, filter: str | None = None, select: Sequence[str] = V3_CATALOG_FIELDS) -> Iterator[Page]:
        url = with_query(self._client.endpoints.v3_catalog,
                         {"$format": "json", "$filter": filter, "$select": ",".join(select) if select else None})
        return self._client.pages(url, table_id="catalog", fix_link=_json_link)


# -- OData query building ------------------------------------------------------------------


def with_query(url: str, params: dict[str, str | None]) -> str:
    """Append OData options; ``$`` stays literal and values are percent-encoded."""
    parts = [f"{key}={quote(str(value), safe=_QUERY_SAFE)}" for key, value in params.items() if value is not None]
    if not parts:
        return url
    return url + ("&" if "?" in url else "?") + "&".join(parts)


def odata_literal(value: str) -> str:
    """A string literal for $filter: a single quote inside is written twice."""
    return "'" + value.replace("'", "''") + "'"


def pad_key(key: str, width: int) -> str:
    """v3 keys are right-padded to the dimension width ('CR08' -> 'CR08  '); filters must match that."""
    if len(key) > width:
        raise ValueError(f"key {key!r} is longer than the padded width {width}")
    return key.ljust(width)


def any_of(field: str, keys: Iterable[str], *, padded_width: int | None = None) -> str | None:
    keys = [pad_key(k, padded_width) if padded_width else k for k in keys]
    if not keys:
        return None
    return "(" + " or ".join(f"{_name(field)} eq {odata_literal(k)}" for k in keys) + ")"


def region_period_filter(
    regions: Iterable[str] = (),
    periods: Iterable[str] = (),
    *,
    padded_width: int | None = None,
    region_field: str = "RegioS",
    period_field: str = "Perioden",
) -> str | None:
    """``(RegioS eq 'CR08  ' or ...) and (Perioden eq '2019JJ00' or ...)``; None when both are empty.

    ``padded_width`` pads region keys for v3 (period keys are never padded); leave it None for v4.
    """
    parts = [any_of(region_field, regions, padded_width=padded_width), any_of(period_field, periods)]
    return " and ".join(p for p in parts if p) or None


# -- helpers -------------------------------------------------------------------------------


def _read1(resp: requests.Response) -> bytes:
    """One socket read of the body, decoded; errors named as requests names them when it reads a body."""
    try:
        return resp.raw.read1(_CHUNK, decode_content=True)
    except urllib3.exceptions.ProtocolError as exc:  # a premature EOF, a reset mid-body
        raise requests.exceptions.ChunkedEncodingError(exc) from exc
    except urllib3.exceptions.DecodeError as exc:
        raise requests.exceptions.ContentDecodingError(exc) from exc
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise requests.exceptions.ConnectionError(exc) from exc


def _name(value: str) -> str:
    """Table ids, entity and dimension names go into URL paths; refuse anything else."""
    if not _NAME.match(value):
        raise ValueError(f"not a CBS table, entity or dimension name: {value!r}")
    return value


def _json_link(url: str) -> str:
    """v3 answers Atom XML unless asked for JSON; make sure a next link still asks."""
    return url if "$format=" in url or "%24format=" in url else with_query(url, {"$format": "json"})


def _snippet(body: bytes, limit: int = 160) -> str:
    text = body[:limit].decode("utf-8", errors="replace")
    return " ".join(text.split()) + ("..." if len(body) > limit else "")


def _describe_bad_body(body: bytes, content_type: str) -> str:
    head = body.lstrip()[:64].lower()
    if "html" in content_type.lower() or head.startswith((b"<!doctype html", b"<html")):
        return f"an HTML page instead of JSON ({len(body)} bytes): {_snippet(body)}"
    if not body.strip():
        return "an empty body instead of JSON"
    return f"invalid or truncated JSON ({len(body)} bytes, ends with {body[-40:]!r})"
