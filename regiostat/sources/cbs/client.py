"""HTTP client for the CBS open-data APIs: v4 (datasets.cbs.nl) and v3 (opendata.cbs.nl).

All network policy lives here and nowhere else: timeouts, retries with backoff, ``Retry-After``,
and checking that a body is a whole JSON document before anyone lands it. Responses come back
one page at a time with their raw bytes, so callers can land exactly what CBS sent and never
hold a whole table in memory.
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


def next_link(data: dict) -> str | None:
    """v4 says ``@odata.nextLink``, v3 says ``odata.nextLink``."""
    return data.get("@odata.nextLink") or data.get("odata.nextLink") or None


class _Retry(Exception):
    """Internal: this attempt failed in a way worth another try."""

    def __init__(self, problem: str, status: int | None = None, wait: float | None = None):
        super().__init__(problem)
        self.problem, self.status, self.wait = problem, status, wait


def _without_credentials(endpoints: CbsEndpoints) -> tuple[CbsEndpoints, tuple[str, str] | None]:
    """Move ``user:secret@`` out of the base URLs: URLs end up in the landing manifest, the warehouse
    and error messages, credentials must not."""
    auth = None
    clean = {}
    for name, url in dataclasses.asdict(endpoints).items():
        parts = urllib.parse.urlsplit(url)
        if parts.username is not None or parts.password is not None:
            auth = (urllib.parse.unquote(parts.username or ""), urllib.parse.unquote(parts.password or ""))
            host = parts.hostname or ""
            netloc = f"{host}:{parts.port}" if parts.port else host
            url = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
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
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ):
        self.session = session or requests.Session()
        self.endpoints, auth = _without_credentials(endpoints or CbsEndpoints())
        if auth is not None:  # a mirror behind basic auth: send it as a header, never keep it in URLs
            self.session.auth = auth
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.jitter = jitter  # fraction added on top of the backoff; 0 makes waits exact
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.v4 = V4Api(self)
        self.v3 = V3Api(self)

    def get(self, url: str, *, table_id: str) -> Page:
        """One whole JSON response, retried on transient failures until ``max_retries`` run out."""
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
        """Follow next links lazily, one page in memory at a time."""
        seen: set[str] = set()
        while url:
            if url in seen:
                raise CbsFetchError("the server sent a next link that was already followed", table_id=table_id, url=url)
            seen.add(url)
            page = self.get(url, table_id=table_id)
            yield page
            link = page.next_link
            url = fix_link(link) if link else ""

    def _get_once(self, url: str, table_id: str) -> Page:
        try:
            resp = self.session.get(url, timeout=self.timeout,
                                    headers={"Accept": "application/json", "User-Agent": USER_AGENT})
            body = resp.content  # a premature EOF surfaces here, as ChunkedEncodingError
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError) as exc:
            raise _Retry(f"{type(exc).__name__}: {exc}") from exc
        status = resp.status_code
        if status == 500 and _TOO_MANY.search(body):
            raise TooManyRecordsError("the v3 ODataApi refuses more than 10,000 records; use the ODataFeed",
                                      table_id=table_id, url=url, status=status)
        if status == 429 or status >= 500:
            raise _Retry(f"HTTP {status}: {_snippet(body)}", status, self._retry_after(resp.headers.get("Retry-After")))
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
        return Page(url=url, body=body, data=data)

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
