"""A local stand-in for the CBS open-data servers: real recorded responses, and a generated national-scale table.

Retry and resume code is only worth trusting once it has met real bodies and real socket-level
faults (resets, stalls, truncation), offline and fast; live mode is only worth trusting once it
has run against something that answers everything it asks. This server listens on 127.0.0.1
only, on a free port, in threads, and serves:

* v4 ``/odata/v1/CBS/<table>/<Entity>`` and ``/odata/v1/CBS/Datasets``: the recorded files in
  ``api-samples/v4_datasets.cbs.nl`` byte for byte. The 13,568-row Observations capture of
  03759ned can be split into N pages linked by ``@odata.nextLink``; rows are kept verbatim, only
  the envelope around them is rebuilt (also when ``$filter``, ``$top``, ``$skip`` or ``$count``
  change what is returned).
* v3 ``/ODataApi/odata``, ``/ODataFeed/odata`` and ``/ODataCatalog/Tables``: JSON in the v3 shape,
  built from real rows (83582NED TypedDataSet extract; 83583NED TableInfos, DataProperties,
  dimensions and TypedDataSet; 84799NED DataProperties and its GM/NL rows, with the WijkenEnBuurten
  list of those rows made from their own key and name columns; the two real catalog entries). A table offers only the entity sets we hold real data for, and its service document
  lists exactly those. The feed pages with ``odata.nextLink``; the API refuses answers above
  ``api_cell_limit`` cells as CBS does. Requests without ``$format=json`` get a 406.
* optionally a generated table (``synthetic=``, see benchmarks/synthetic.py: real code lists,
  SYNTHETIC values) under its table id, in both APIs: the v3 service document, TableInfos,
  DataProperties, dimension tables, TypedDataSet and UntypedDataSet (ODataApi refusing more than
  ``api_cell_limit`` cells, ODataFeed paging ``feed_page_size`` rows with padded keys), the v4
  Properties, Dimensions, MeasureCodes, ``<Dim>Codes`` and Observations (``v4_page_size`` rows a
  page, unpadded codes), and an entry in both catalogs. Pages are rendered from columns on
  request; 1.87M rows never exist as Python dicts.

``$filter`` is evaluated by tests/odata_filter.py (``eq``/``ne``/``gt``/``ge``/``lt``/``le``,
``and``/``or``/``not``, parentheses, ``substringof``, ``startswith``, ``endswith``, ``contains``);
anything else is a 400, as from CBS. ``$top``/``$skip`` window every entity set; next links carry
the rest of the window.

Faults are scripted per path and optionally per page (``script``, ``always``); every request is
logged in ``log``. Server-side bugs are collected in ``errors`` so a fixture can fail on them.
"""

from __future__ import annotations

import csv
import functools
import gzip
import json
import re
import socket
import struct
import threading
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit

import polars as pl

from benchmarks import synthetic
from regiostat.sources.cbs.client import CbsEndpoints
from tests.odata_filter import FilterError, RowColumns, matching_rows

V4 = "/odata/v1/CBS"
V3_API = "/ODataApi/odata"
V3_FEED = "/ODataFeed/odata"
V3_CATALOG = "/ODataCatalog/Tables"

# Wording as documented in CBS_API.md; the exact live text may differ.
TOO_MANY_BODY = json.dumps({"odata.error": {"code": "", "message": {
    "lang": "en-US", "value": "The query returns more than 10000 records. Use the ODataFeed or a $filter."}}}).encode()
HTML_BODY = (b"<!DOCTYPE html>\n<html><head><title>Storing | CBS</title></head>\n<body><h1>Er is een storing</h1>"
             b"<p>StatLine is tijdelijk niet beschikbaar.</p></body></html>\n")
INVALID_JSON_BODY = b'{"odata.metadata": "x", "value": [{"ID": 0,, }'
JSON = "application/json; charset=utf-8"
Answer = tuple[int, bytes, str, int]  # status, body, content type, page number


@dataclass(frozen=True)
class Fault:
    """What goes wrong with one response. Build with the class methods."""

    kind: str
    status: int = 500
    retry_after: str | None = None
    delay: float = 0.0
    size: int = 0
    location: str | None = None
    rewrite_body: Callable[[bytes, dict[str, str]], bytes] | None = None

    @classmethod
    def http(cls, status: int = 500, retry_after: str | None = None) -> Fault:
        return cls("http", status=status, retry_after=retry_after)

    @classmethod
    def reset(cls) -> Fault:
        """Close the socket with RST before any response byte."""
        return cls("reset")

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        """Answer normally, but only after ``seconds`` (beyond the client's read timeout)."""
        return cls("slow", delay=seconds)

    @classmethod
    def truncated(cls) -> Fault:
        """Status 200 and a Content-Length that matches, but only the first half of the JSON."""
        return cls("truncated")

    @classmethod
    def premature_eof(cls) -> Fault:
        """Announce the full length, send half, close: the 'premature EOF' seen on big v3 feeds."""
        return cls("premature_eof")

    @classmethod
    def invalid_json(cls) -> Fault:
        return cls("invalid_json")

    @classmethod
    def html_200(cls) -> Fault:
        """A maintenance HTML page served with status 200."""
        return cls("html_200")

    @classmethod
    def too_many_records(cls) -> Fault:
        """CBS v3's HTTP 500 'query returns more than 10000 records'."""
        return cls("too_many_records")

    @classmethod
    def drip(cls, seconds: float) -> Fault:
        """Status, headers and a matching Content-Length at once, then the body one byte every ``seconds``:
        no single read ever waits long, so only a deadline on the whole request ends it."""
        return cls("drip", delay=seconds)

    @classmethod
    def gzip_bomb(cls, size: int) -> Fault:
        """``Content-Encoding: gzip``: a small body that decodes to ``size`` bytes of one JSON document."""
        return cls("gzip_bomb", size=size)

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> Fault:
        """A redirect to ``location`` (another host, say)."""
        return cls("redirect", status=status, location=location)

    @classmethod
    def rewrite(cls, body: Callable[[bytes, dict[str, str]], bytes]) -> Fault:
        """Status 200 with ``body(normal body, query)``: e.g. a next link to another host, or to a page that
        never ends."""
        return cls("rewrite", rewrite_body=body)


@dataclass(frozen=True)
class Request:
    path: str
    query: dict[str, str]
    page: int
    fault: str | None
    status: int | None = None  # of the normal answer (before any fault): 200, 404, 500 for too many records...
    authorization: str | None = None  # the Authorization header the client sent, if any


@dataclass
class _Rule:
    path: str  # lower case
    page: int | None
    faults: deque[Fault]
    forever: bool


@dataclass(frozen=True)
class Recordings:
    """The real files, parsed once per data folder."""

    v4_dirs: dict[str, Path]  # lower-case table id -> folder of recorded responses
    v4_catalog: Path
    v3_tables: dict[str, dict[str, list[dict]]]  # upper-case table id -> entity set -> rows
    v3_catalog: list[dict]


class CbsTestServer:
    def __init__(self, data_dir: Path, *, v4_pages: int = 1, feed_page_size: int = 10_000,
                 api_cell_limit: int = 10_000, max_requests: int | None = 2_000,
                 synthetic: synthetic.NationalTable | None = None, v4_page_size: int = 100_000):
        self.data = load_recordings(Path(data_dir))
        self.v4_pages = v4_pages  # the recorded v4 Observations are split into this many pages
        self.feed_page_size = feed_page_size
        self.api_cell_limit = api_cell_limit
        self.max_requests = max_requests  # a runaway client gets 410s instead of looping forever (None: no cap)
        self.synthetic = synthetic
        self.v4_page_size = v4_page_size  # rows per page of the generated table's v4 Observations
        self._selections: dict[tuple[str, str], pl.Series | None] = {}
        self.log: list[Request] = []
        self.errors: list[str] = []
        self._rules: list[_Rule] = []
        self._overrides: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> CbsTestServer:
        self._httpd = _HttpServer(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="cbs-test-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers stalled by a slow fault
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> CbsTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def endpoints(self) -> CbsEndpoints:
        return CbsEndpoints.under(self.base_url)

    # -- scripting -----------------------------------------------------------------------

    def script(self, path: str, *faults: Fault, page: int | None = None) -> None:
        """The next matching requests get these faults in order; later ones are served normally."""
        with self._lock:
            self._rules.append(_Rule(path.lower(), page, deque(faults), forever=False))

    def always(self, path: str, fault: Fault, *, page: int | None = None) -> None:
        """Every matching request gets ``fault`` until ``clear_faults``."""
        with self._lock:
            self._rules.append(_Rule(path.lower(), page, deque([fault]), forever=True))

    def clear_faults(self) -> None:
        with self._lock:
            self._rules.clear()

    def override(self, path: str, body: bytes) -> None:
        """Serve ``body`` for ``path`` instead of the recording (e.g. a changed Version)."""
        self._overrides[path.lower()] = body

    def requests_to(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.log if r.path.lower() == path.lower()]

    def _take_fault(self, path: str, page: int) -> Fault | None:
        for rule in self._rules:
            if rule.path == path.lower() and rule.page in (None, page) and rule.faults:
                return rule.faults[0] if rule.forever else rule.faults.popleft()
        return None

    # -- serving -------------------------------------------------------------------------

    def _handle(self, h: _Handler) -> None:
        if h.client_address[0] != "127.0.0.1":
            h.close_connection = True
            return
        split = urlsplit(h.path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        try:
            status, body, ctype, page = self._route(split.path, query)
        except Exception:  # a bug here must not look like a network fault to the client
            self.errors.append(traceback.format_exc())
            status, body, ctype, page = 599, b"test server error", "text/plain", 1
        with self._lock:
            fault = self._take_fault(split.path, page)
            self.log.append(Request(split.path, query, page, fault.kind if fault else None, status,
                                    h.headers.get("Authorization")))
            over_cap = self.max_requests is not None and len(self.log) > self.max_requests
        if over_cap:
            fault, status, body, ctype = None, 410, b"request cap of the test server reached", "text/plain"
        self._respond(h, fault, status, body, ctype)

    def _respond(self, h: _Handler, fault: Fault | None, status: int, body: bytes, ctype: str) -> None:
        kind = fault.kind if fault else None
        headers: dict[str, str] = {}
        if kind == "reset":
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.connection.close()
            h.close_connection = True
            return
        if kind == "drip":
            self._drip(h, status, body, ctype, fault.delay)
            return
        if kind == "gzip_bomb":
            headers["Content-Encoding"] = "gzip"
            pad = fault.size - len(b'{"value": [], "pad": ""}')
            body = gzip.compress(b'{"value": [], "pad": "' + b" " * max(0, pad) + b'"}', compresslevel=6, mtime=0)
        elif kind == "redirect":
            status, body, ctype = fault.status, b"moved", "text/plain"
            headers["Location"] = fault.location or ""
        elif kind == "rewrite":
            status, ctype = 200, JSON
            body = fault.rewrite_body(body, dict(parse_qsl(urlsplit(h.path).query, keep_blank_values=True)))
        if kind == "slow":
            self._stopping.wait(fault.delay)
        elif kind == "http":
            status, ctype = fault.status, "text/plain"
            body = f"{fault.status} {HTTPStatus(fault.status).phrase}".encode()
            if fault.retry_after is not None:
                headers["Retry-After"] = fault.retry_after
        elif kind == "truncated":
            body = body[: len(body) // 2]
        elif kind == "premature_eof":
            h.send_response(status)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body[: len(body) // 2])
            h.close_connection = True
            return
        elif kind == "invalid_json":
            body, ctype = INVALID_JSON_BODY, JSON
        elif kind == "html_200":
            status, body, ctype = 200, HTML_BODY, "text/html; charset=utf-8"
        elif kind == "too_many_records":
            status, body, ctype = 500, TOO_MANY_BODY, JSON
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(body)

    def _drip(self, h: _Handler, status: int, body: bytes, ctype: str, seconds: float) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.flush()
        for i in range(len(body)):
            if self._stopping.wait(seconds):
                break
            try:
                h.wfile.write(body[i:i + 1])
                h.wfile.flush()
            except OSError:  # the client gave up: that is what this fault is for
                break
        h.close_connection = True

    def _route(self, path: str, query: dict[str, str]) -> Answer:
        """(status, body, content type, page number) of the normal, fault-free answer."""
        if path.lower() in self._overrides:
            return 200, self._overrides[path.lower()], JSON, 1
        parts = [p for p in path.split("/") if p]
        low = [p.lower() for p in parts]
        try:
            if low[:3] == ["odata", "v1", "cbs"]:
                return self._v4(parts[3:], path, query)
            if low[:2] in (["odataapi", "odata"], ["odatafeed", "odata"]) and len(parts) in (3, 4):
                entity = parts[3] if len(parts) == 4 else ""
                if query.get("$format") != "json":
                    return 406, b"this test server speaks JSON only: add $format=json", "text/plain", 1
                if self._generated(parts[2]):
                    return self._v3_generated(low[0] == "odatafeed", entity, path, query)
                return self._v3(low[0] == "odatafeed", parts[2], entity, path, query)
            if low == ["odatacatalog", "tables"]:
                rows = self.data.v3_catalog + ([synthetic.v3_catalog_entry(self.synthetic, *self._v3_roots())]
                                               if self.synthetic else [])
                return self._v3_rows(rows, path, query, meta="$metadata#Cbs.OData.WebAPI.Tables")
        except (FilterError, _BadOption) as exc:  # CBS answers a filter or option it cannot use with a 400
            return 400, str(exc).encode(), "text/plain", 1
        return _not_found(path)

    # -- v4 ------------------------------------------------------------------------------------

    def _v4(self, parts: list[str], path: str, query: dict[str, str]) -> Answer:
        if parts == ["Datasets"]:
            return self._v4_catalog()
        if len(parts) != 2:
            return _not_found("/".join(parts))
        if self._generated(parts[0]):
            return self._v4_generated(parts[1], path, query)
        if parts[0].lower() not in self.data.v4_dirs:
            return _not_found("/".join(parts))
        folder, entity = self.data.v4_dirs[parts[0].lower()], parts[1]
        if entity == "Observations":
            return self._v4_observations(folder, path, query)
        names = {"Properties": "properties", "Dimensions": "dimensions", "MeasureCodes": "measure-codes"}
        name = names.get(entity) or (f"codes-{entity[:-5]}" if entity.endswith("Codes") else "")
        file = folder / f"{name}.json"
        return (200, _read(file), JSON, 1) if name and file.exists() else _not_found(entity)

    def _v4_catalog(self) -> Answer:
        if self.synthetic is None:
            return 200, _read(self.data.v4_catalog), JSON, 1
        doc = json.loads(_read(self.data.v4_catalog))
        doc["value"].append(synthetic.v4_catalog_entry(self.synthetic))
        return 200, json.dumps(doc, ensure_ascii=False).encode(), JSON, 1

    def _v4_observations(self, folder: Path, path: str, query: dict[str, str]) -> Answer:
        file = folder / "observations-page-1.json"
        if not file.exists():
            file = file.with_name(file.name + ".gz")  # the repo keeps the 3.5 MB capture gzipped
        if not file.exists():
            return _not_found(str(file))
        context, rows = _v4_rows(file)
        selected = matching_rows(query.get("$filter"), RowColumns(rows))
        if selected is not None and selected.len() < len(rows):
            rows = [rows[i] for i in selected.to_list()]
        elif self.v4_pages == 1 and not {"$skip", "$top", "$count"} & set(query):
            return 200, _read(file), JSON, 1  # the recording itself, byte for byte
        window = _Window.of(len(rows), query, max(1, -(-len(rows) // self.v4_pages)))
        return self._v4_page(context, _json_array(rows[window.start:window.stop]), len(rows), window, path, query)

    def _v4_generated(self, entity: str, path: str, query: dict[str, str]) -> Answer:
        table, root = self.synthetic, f"{self.base_url}{V4}"
        context = f"{root}/{table.table_id}/$metadata#{entity}"
        if entity == "Properties":
            doc = {"@odata.context": context, **synthetic.v4_properties(table)}
            return 200, json.dumps(doc, ensure_ascii=False).encode(), JSON, 1
        lists = synthetic.v4_lists(table, root)
        if entity in lists:
            return 200, json.dumps({"@odata.context": context, "value": lists[entity]}, ensure_ascii=False).encode(), \
                JSON, 1
        if entity != "Observations":
            return _not_found(path)
        selected = self._generated_rows("v4", query.get("$filter"))
        total = table.row_count if selected is None else selected.len()
        window = _Window.of(total, query, self.v4_page_size)
        frame = table.frame(window.rows(selected), "v4")
        return self._v4_page(context, synthetic.json_array(frame), total, window, path, query)

    def _v4_page(self, context: str, rows: bytes, total: int, window: _Window, path: str,
                 query: dict[str, str]) -> Answer:
        """The envelope around a JSON array of rows, joined once (pages of 100,000 rows are ~20 MB)."""
        parts = [b'{"@odata.context": ', json.dumps(context).encode()]
        if query.get("$count") == "true":
            parts += [b', "@odata.count": ', str(total).encode()]
        parts += [b', "value": ', rows]
        if window.next_skip is not None:
            parts += [b', "@odata.nextLink": ', json.dumps(self._link(path, query, window)).encode()]
        return 200, b"".join([*parts, b"}"]), JSON, window.page

    # -- v3 ------------------------------------------------------------------------------------

    def _v3(self, feed: bool, table: str, entity: str, path: str, query: dict[str, str]) -> Answer:
        sets = self.data.v3_tables.get(table.upper())
        if sets is None or (entity and entity not in sets):
            return _not_found(path)
        if not entity:
            return self._service_document(feed, table, list(sets))
        page_size = self.feed_page_size if feed else None
        return self._v3_rows(sets[entity], path, query, meta=f"$metadata#Cbs.OData.WebAPI.{entity}",
                             page_size=page_size, cell_limit=None if feed else self.api_cell_limit)

    def _service_document(self, feed: bool, table: str, names: list[str]) -> Answer:
        root = f"{self.base_url}{V3_FEED if feed else V3_API}/{table}"
        doc = {"odata.metadata": f"{root}/$metadata", "value": [{"name": name, "url": f"{root}/{name}"}
                                                               for name in names]}
        return 200, json.dumps(doc).encode(), JSON, 1

    def _v3_rows(self, rows: list[dict], path: str, query: dict[str, str], *, meta: str,
                 page_size: int | None = None, cell_limit: int | None = None) -> Answer:
        selected = matching_rows(query.get("$filter"), RowColumns(rows))
        if selected is not None:
            rows = [rows[i] for i in selected.to_list()]
        if query.get("$select"):
            keep = _select_list(query, list(rows[0]) if rows else None)
            rows = [{c: r.get(c) for c in keep} for r in rows]
        window = _Window.of(len(rows), query, page_size)
        if cell_limit is not None and rows and window.size * _value_columns(rows[0]) > cell_limit:
            return 500, TOO_MANY_BODY, JSON, 1
        return self._v3_page(path, meta, _json_array(rows[window.start:window.stop]), window, query)

    def _v3_generated(self, feed: bool, entity: str, path: str, query: dict[str, str]) -> Answer:
        table = self.synthetic
        metadata = synthetic.v3_metadata(table, *self._v3_roots())
        if not entity:
            names = ["TableInfos", "UntypedDataSet", "TypedDataSet", *[n for n in metadata if n != "TableInfos"]]
            return self._service_document(feed, table.table_id, names)
        meta = f"$metadata#Cbs.OData.WebAPI.{entity}"
        if entity in metadata:
            return self._v3_rows(metadata[entity], path, query, meta=meta,
                                 page_size=self.feed_page_size if feed else None,
                                 cell_limit=None if feed else self.api_cell_limit)
        if entity not in ("TypedDataSet", "UntypedDataSet"):
            return _not_found(path)
        selected = self._generated_rows("v3", query.get("$filter"))
        select = _select_list(query, ["ID", *(d.name for d in table.dimensions), synthetic.TOPIC])
        window = _Window.of(table.row_count if selected is None else selected.len(), query,
                            self.feed_page_size if feed else None)
        if not feed and window.size * max(1, int(select is None or synthetic.TOPIC in select)) > self.api_cell_limit:
            return 500, TOO_MANY_BODY, JSON, 1
        rows = window.rows(selected)
        frame = table.frame(rows, "v3", select) if entity == "TypedDataSet" else table.untyped_frame(rows, select)
        return self._v3_page(path, meta, synthetic.json_array(frame), window, query)

    def _v3_page(self, path: str, meta: str, rows: bytes, window: _Window, query: dict[str, str]) -> Answer:
        metadata = f"{self.base_url}{path.rsplit('/', 1)[0]}/{meta}"
        parts = [b'{"odata.metadata": ', json.dumps(metadata).encode(), b', "value": ', rows]
        if window.next_skip is not None:
            parts += [b', "odata.nextLink": ', json.dumps(self._link(path, query, window)).encode()]
        return 200, b"".join([*parts, b"}"]), JSON, window.page

    def _v3_roots(self) -> tuple[str, str]:
        return f"{self.base_url}{V3_API}", f"{self.base_url}{V3_FEED}"

    # -- the generated table -------------------------------------------------------------------

    def _generated(self, table: str) -> bool:
        return self.synthetic is not None and table.upper() == self.synthetic.table_id.upper()

    def _generated_rows(self, api: str, expr: str | None) -> pl.Series | None:
        """Row numbers the filter keeps (None: all), computed once per filter: every page asks again."""
        key = (api, expr or "")
        with self._lock:
            if key in self._selections:
                return self._selections[key]
        rows = matching_rows(expr, _GeneratedColumns(self.synthetic, api))
        with self._lock:
            if len(self._selections) >= 16:
                self._selections.clear()
            self._selections[key] = rows
        return rows

    def _link(self, path: str, query: dict[str, str], window: _Window) -> str:
        params = {k: v for k, v in query.items() if k not in ("$skip", "$top")}
        if "$top" in query:
            params["$top"] = str(window.end - window.next_skip)
        params["$skip"] = str(window.next_skip)
        return f"{self.base_url}{path}?" + "&".join(f"{k}={quote(v, safe=chr(39) + '(),')}" for k, v in params.items())


class _BadOption(ValueError):
    """A $top, $skip or $select CBS would refuse."""


@dataclass(frozen=True)
class _Window:
    """The rows one response holds: ``$skip``/``$top`` of the result, cut to a page; the next page starts at
    ``next_skip`` (None: this is the last)."""

    start: int
    stop: int
    end: int  # where the $top window ends
    next_skip: int | None
    page: int

    @classmethod
    def of(cls, total: int, query: dict[str, str], page_size: int | None) -> _Window:
        skip, top = _int_option(query, "$skip") or 0, _int_option(query, "$top")
        end = total if top is None else min(total, skip + top)
        stop = max(skip, end if page_size is None else min(end, skip + page_size))
        return cls(skip, stop, end, stop if stop < end else None, skip // page_size + 1 if page_size else 1)

    @property
    def size(self) -> int:
        """Rows in the whole $top window (what the ODataApi's cell limit counts)."""
        return max(0, self.end - self.start)

    def rows(self, selected: pl.Series | None) -> pl.Series:
        if selected is None:
            return pl.int_range(self.start, self.stop, dtype=pl.Int64, eager=True)
        return selected.slice(self.start, max(0, self.stop - self.start))


class _GeneratedColumns:
    """The filter's view of the generated table: a dimension's codes (padded for v3) and each row's code index."""

    def __init__(self, table: synthetic.NationalTable, api: str):
        self.table, self.api = table, api

    @property
    def row_count(self) -> int:
        return self.table.row_count

    def distinct(self, field: str) -> tuple[Sequence[object], pl.Series]:
        for position, dim in enumerate(self.table.dimensions):
            if dim.name == field:
                return (dim.v3_keys if self.api == "v3" else dim.codes), self.table.code_index(position)
        raise FilterError(f"the test server filters {self.table.table_id} on its dimensions only, not {field!r}")


def _int_option(query: dict[str, str], name: str) -> int | None:
    text = query.get(name)
    if text is None:
        return None
    if not text.isdigit():
        raise _BadOption(f"{name} must be a non-negative integer, got {text!r}")
    return int(text)


def _select_list(query: dict[str, str], columns: list[str] | None) -> list[str] | None:
    if not query.get("$select"):
        return None
    keep = [c.strip() for c in query["$select"].split(",")]
    unknown = [c for c in keep if columns is not None and c not in columns]
    if unknown:
        raise _BadOption(f"$select names unknown properties: {', '.join(unknown)}")
    return keep


def _json_array(rows: list[dict]) -> bytes:
    return json.dumps(rows, ensure_ascii=False).encode()


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True  # a stalled handler never blocks shutdown
    owner: CbsTestServer

    def handle_error(self, request, client_address) -> None:
        """Broken sockets are what the faults are for; anything else is a server bug worth reporting."""
        exc = traceback.format_exc()
        if not any(name in exc for name in ("BrokenPipeError", "ConnectionResetError", "ConnectionAbortedError")):
            self.owner.errors.append(exc)


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        self.server.owner._handle(self)

    def log_message(self, format: str, *args: object) -> None:
        pass  # the request log on the server object is the record


# -- the recordings ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def load_recordings(data_dir: Path) -> Recordings:
    v4_root = data_dir / "api-samples" / "v4_datasets.cbs.nl"
    bq = data_dir / "api-samples" / "v3_statline_bq_tests"
    info_83583 = json.loads((bq / "83583NED_Metadata.json").read_text(encoding="utf-8"))
    kwb_props = _metadata_rows(bq / "84799NED_DataProperties.csv")
    kwb_rows = _typed_rows(bq / "84799NED_TypedDataSet_GM_NL_rows_only.csv",
                           datatypes={r["Key"]: r["Datatype"] for r in kwb_props if r["Type"] == "Topic"})
    v3_tables = {
        "83582NED": {"TypedDataSet": _typed_rows(data_dir / "cbs" / "83582NED_TypedDataSet_CR07-CR10_2010-2024_extract.csv")},
        "83583NED": {
            "TableInfos": [info_83583],
            "DataProperties": _metadata_rows(bq / "83583NED_DataProperties.csv"),
            "CategoryGroups": _metadata_rows(bq / "83583NED_CategoryGroups.csv"),
            "BedrijfstakkenBranchesSBI2008": _metadata_rows(bq / "83583NED_BedrijfstakkenBranchesSBI2008.csv"),
            "Bedrijfsgrootte": _metadata_rows(bq / "83583NED_Bedrijfsgrootte.csv"),
            "Perioden": _metadata_rows(bq / "83583NED_Perioden.csv"),
            "TypedDataSet": _typed_rows(data_dir / "cbs" / "83583NED_TypedDataSet_2010-2019_national_from_parquet.csv"),
        },
        "84799NED": {  # KWB 2020: the real DataProperties and the GM and NL rows (what the shipped live_filter asks)
            "DataProperties": kwb_props,
            "TypedDataSet": kwb_rows,
            # the region list of those rows: each row's key and the name the row itself states (Gemeentenaam_1)
            "WijkenEnBuurten": [{"Key": r["WijkenEnBuurten"], "Title": r["Gemeentenaam_1"].strip(), "Description": None,
                                 "CategoryGroupID": None} for r in kwb_rows],
        },
    }
    catalog = [json.loads((bq / "metadata_v3.json").read_text(encoding="utf-8")), info_83583]
    return Recordings(
        v4_dirs={p.name.lower(): p for p in v4_root.iterdir() if p.is_dir()},
        v4_catalog=v4_root / "_catalog_Datasets.json",
        v3_tables=v3_tables,
        v3_catalog=catalog,
    )


@functools.lru_cache(maxsize=8)
def _read(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()


@functools.lru_cache(maxsize=4)
def _v4_rows(path: Path) -> tuple[str, list[dict]]:
    doc = json.loads(_read(path))
    return doc["@odata.context"], doc["value"]


def _typed_rows(path: Path, datatypes: dict[str, str] | None = None) -> list[dict]:
    """TypedDataSet CSV -> v3 JSON rows: ID an integer, keys untouched, topics numbers or null (``Name_<n>``
    columns, or by their DataProperties Datatype when given: String topics stay text)."""
    def typed(key: str, text: str) -> object:
        if key == "ID":
            return int(text)
        kind = datatypes.get(key) if datatypes is not None else ("Double" if re.search(r"_\d+$", key) else None)
        if kind in (None, "String"):
            return text
        number = _number(text)
        return int(number) if kind == "Long" and number is not None else number

    with open(path, newline="", encoding="utf-8") as fh:
        return [{k: typed(k, v) for k, v in row.items()} for row in csv.DictReader(fh)]


def _metadata_rows(path: Path) -> list[dict]:
    """Metadata CSV (converted from v3 JSON by statline-bq) back to JSON-ish values."""
    ints = {"ID", "Position", "ParentID", "CategoryGroupID", "Decimals"}
    with open(path, newline="", encoding="utf-8") as fh:
        rows = []
        for row in csv.DictReader(fh):
            out = {}
            for k, v in row.items():
                key = "odata.type" if k == "odata_type" else k
                out[key] = (None if v == "" else int(float(v)) if k in ints
                            else {"True": True, "False": False}.get(v, v))
            rows.append(out)
        return rows


def _number(text: str) -> float | None:
    return float(text) if text.strip() not in ("", ".") else None


def _value_columns(row: dict) -> int:
    return max(1, sum(1 for k, v in row.items() if k != "ID" and not isinstance(v, str)))


def _not_found(what: str) -> tuple[int, bytes, str, int]:
    body = json.dumps({"odata.error": {"code": "", "message": {"lang": "en-US", "value": f"not found: {what}"}}})
    return 404, body.encode(), JSON, 1
