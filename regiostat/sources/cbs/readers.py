"""Read one complete CBS fetch from the landing zone into a ``Capture``: the raw layer.

Every CBS format (v4 JSON, v3 JSON or CSV, StatLine CSV, a third party's processed CSV) ends up
in the common raw shape of :mod:`regiostat.model.observations`, with codes and values still
exactly as received (padding, `.` for missing). Typing and trimming happen in staging, not here.

The data pages of an API fetch (v3 TypedDataSet, v4 Observations) are read one page at a time when
the raw step writes them (:func:`stream_capture`): polars parses a page with a fixed schema, the
format rules are judged over the page, and the page is unpivoted; a national table is never held
whole. The metadata (properties, code lists) is small and read at once.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import polars as pl

from regiostat.landing.zone import LandingEntry, LandingZone
from regiostat.model.observations import (
    CODE_COLUMNS,
    GEO_KINDS,
    MEASURE_COLUMNS,
    MEMBERSHIP_COLUMNS,
    OBSERVATION_COLUMNS,
    Capture,
    concat_or_empty,
    in_batches,
)
from regiostat.sources.cbs import formats as source_formats
from regiostat.sources.cbs import statline_csv
from regiostat.sources.cbs.catalog import TableSpec
from regiostat.sources.cbs.derived_json import read_derived_json
from regiostat.sources.protocol import SourceError

# Region classifications that nest (a municipality lies in exactly one of each); others (GGD, police...) are skipped.
HIERARCHY_PREFIXES = ("AM", "CR", "PV", "LD")
_SUFFIX = re.compile(r"_\d+$")
BATCH_ROWS = 100_000  # observation rows per batch a reader hands the raw step


class CaptureError(SourceError):
    """A landed file does not have the shape its source format promises."""


def stream_capture(landing: LandingZone, entries: list[LandingEntry], spec: TableSpec) -> Capture:
    """One complete fetch; its observations are batches read page by page as they are consumed."""
    if not entries:
        raise CaptureError(f"{spec.id}: the fetch has no files")
    source = entries[0].source
    reader = _READERS.get(source)
    if reader is None:
        raise CaptureError(f"{spec.id}: no reader for source format {source!r}")
    return reader(landing, entries, spec)


def read_capture(landing: LandingZone, entries: list[LandingEntry], spec: TableSpec) -> Capture:
    """One complete fetch with all its observations in one frame (small fetches, tests)."""
    return stream_capture(landing, entries, spec).collected()


# -- shared helpers -------------------------------------------------------------------------

def _by_entity(entries: list[LandingEntry]) -> dict[str, list[LandingEntry]]:
    out: dict[str, list[LandingEntry]] = {}
    for e in sorted(entries, key=lambda e: (e.entity, e.page)):
        out.setdefault(e.entity, []).append(e)
    return out


def _data_pages(ents: dict[str, list[LandingEntry]], entity: str, table_id: str, fetch_id: str) -> list[LandingEntry]:
    """The fetch's data pages; v4 and v3 alike refuse a fetch without them (metadata alone is not a table)."""
    if not ents.get(entity):
        raise CaptureError(f"{table_id}: fetch {fetch_id} has no {entity} pages; a fetch without its data pages "
                           "is refused")
    return ents[entity]


def _json_value(landing: LandingZone, entry: LandingEntry) -> list[dict]:
    try:
        doc = json.loads(landing.read_bytes(entry))
    except json.JSONDecodeError as exc:
        raise CaptureError(f"{entry.path}: invalid JSON at line {exc.lineno} column {exc.colno}") from exc
    if isinstance(doc, dict) and isinstance(doc.get("value"), list):
        return doc["value"]
    if isinstance(doc, dict):
        return [doc]
    raise CaptureError(f"{entry.path}: expected a JSON object with a 'value' list")


def _csv(landing: LandingZone, entry: LandingEntry) -> pl.DataFrame:
    return pl.read_csv(io.BytesIO(landing.read_bytes(entry)), infer_schema=False)


def _json_page(landing: LandingZone, entry: LandingEntry, columns: list[str]) -> pl.DataFrame:
    """A data page's ``value`` rows, every column as text (a column null in every row is text too); a column
    the rows lack is null, which the format rules then refuse where it may not be."""
    schema = {"value": pl.List(pl.Struct(dict.fromkeys(columns, pl.String)))}
    try:
        page = pl.read_json(io.BytesIO(landing.read_bytes(entry)), schema=schema)
    except pl.exceptions.PolarsError as exc:
        raise CaptureError(f"{entry.path}: not a JSON object with a 'value' list of rows: {exc}") from exc
    if page.height != 1 or page["value"].is_null().any():
        raise CaptureError(f"{entry.path}: not a JSON object with a 'value' list of rows")
    return page.select(pl.col("value").explode()).unnest("value").head(page["value"].list.len().item())


def _first_row_keys(landing: LandingZone, entry: LandingEntry) -> list[str]:
    """The columns of a v3 JSON page: the keys of its first row (CBS gives every row the same keys)."""
    value = _json_value(landing, entry)
    return list(value[0]) if value else []


def _rows(landing: LandingZone, entry: LandingEntry) -> pl.DataFrame:
    """A v3 entity as landed: JSON ``value`` list (live) or CSV (bundled conversions)."""
    if entry.media_type == "application/json":
        value = _json_value(landing, entry)
        keys = list(dict.fromkeys(k for r in value for k in r))  # all text: a column null in every row is text too
        return pl.DataFrame([{k: (None if r.get(k) is None else str(r[k])) for k in keys} for r in value],
                            schema=dict.fromkeys(keys, pl.String))
    return _csv(landing, entry)


def _check_format(rules: source_formats.SourceFormat, df: pl.DataFrame, path: str) -> None:
    """Refuse a file that breaks its source format's promises, naming file, row and rule."""
    problems = rules.problems(df, path)
    if problems is not None:
        raise CaptureError(problems)


def _int_or_none(text: str | None) -> int | None:
    return int(float(text)) if text not in (None, "") else None


def _frame(rows: list[dict] | pl.DataFrame, columns: dict[str, pl.DataType]) -> pl.DataFrame:
    df = rows if isinstance(rows, pl.DataFrame) else pl.DataFrame(rows, schema=columns)
    if "measure_id" in columns:  # CBS metadata: the published key is the identity
        mid = pl.col("measure_id") if "measure_id" in df.columns else pl.lit(None, pl.String)
        df = df.with_columns(pl.coalesce(mid, pl.col("measure_code")).alias("measure_id"))
    return df.select([pl.col(c).cast(t) if c in df.columns else pl.lit(None, t).alias(c) for c, t in columns.items()])


def _other_dims(df: pl.DataFrame, dims: list[str]) -> pl.Expr:
    """Canonical ``Dim=code;Dim=code`` (sorted by dimension) so codes of different dimensions never collide."""
    if not dims:
        return pl.lit("", pl.String)
    return pl.concat_str([pl.lit(f"{d}=") + pl.col(d).fill_null("") for d in sorted(dims)], separator=";")


def _declared_measures(spec: TableSpec, table_id: str, fetch_id: str, keys: list[str]) -> pl.DataFrame:
    rows = []
    for key in keys:
        m = spec.declared_measures.get(key) or spec.declared_measures.get(_SUFFIX.sub("", key))
        rows.append(dict(table_id=table_id, fetch_id=fetch_id, measure_code=key, measure_id=m.key, title=m.title,
                         unit=m.unit, decimals=m.decimals, description=m.evidence, metadata_origin="declared"))
    return _frame(rows, MEASURE_COLUMNS)


def _declared_ids(spec: TableSpec, columns: list[str]) -> dict[str, str]:
    """Column -> declared measure key, for columns that match one (by full key, or key without its _<n> suffix:
    the suffix differs between table versions and between the StatLine export and the live API)."""
    ids: dict[str, str] = {}
    for col in columns:
        m = spec.declared_measures.get(col) or spec.declared_measures.get(_SUFFIX.sub("", col))
        if m is None or (m.column_position == "first" and m.key in ids.values()):
            continue
        ids[col] = m.key
    return ids


def _declared_columns(spec: TableSpec, columns: list[str]) -> tuple[list[str], list[str]]:
    """Columns that match a declared measure, and the rest."""
    keep = list(_declared_ids(spec, columns))
    return keep, [c for c in columns if c not in keep]


def _unpivot(df: pl.DataFrame, *, table_id: str, fetch_id: str, path: str, row_col: str, region: str,
             period: str, others: list[str], topics: list[str]) -> pl.DataFrame:
    base = df.with_columns(
        pl.col(row_col).cast(pl.Int64, strict=False).alias("source_row"),
        pl.col(region).alias("region_raw"),
        pl.col(period).alias("period_raw"),
        _other_dims(df, others).alias("other_dims_raw"),
    )
    long = base.unpivot(index=["source_row", "region_raw", "period_raw", "other_dims_raw"], on=topics,
                        variable_name="measure_code", value_name="value_raw")
    return _frame(long.with_columns(pl.lit(table_id).alias("table_id"), pl.lit(fetch_id).alias("fetch_id"),
                                    pl.lit(path).alias("source_path"),
                                    pl.lit(None, pl.String).alias("value_attribute_raw")), OBSERVATION_COLUMNS)


# -- v4: datasets.cbs.nl ------------------------------------------------------------------------

def _read_v4(landing: LandingZone, entries: list[LandingEntry], spec: TableSpec) -> Capture:
    ents = _by_entity(entries)
    table_id, fetch_id = spec.id, entries[0].fetch_id
    dims = {d["Identifier"]: d["Kind"] for e in ents.get("Dimensions", []) for d in _json_value(landing, e)}
    region = next((d for d, k in dims.items() if k in GEO_KINDS), "RegioS")
    period = next((d for d, k in dims.items() if k == "TimeDimension"), "Perioden")
    others = [d for d in dims if d not in {region, period}]
    measures = _frame([
        dict(table_id=table_id, fetch_id=fetch_id, measure_code=m["Identifier"], title=(m.get("Title") or "").strip(),
             unit=m.get("Unit"), decimals=m.get("Decimals"), description=m.get("Description"),
             metadata_origin="cbs")
        for e in ents.get("MeasureCodes", []) for m in _json_value(landing, e)
    ], MEASURE_COLUMNS)
    codes = []
    for entity, files in ents.items():
        if entity.endswith("Codes") and entity != "MeasureCodes":
            dim = entity.removesuffix("Codes")
            codes += [dict(table_id=table_id, fetch_id=fetch_id, dimension=dim, dimension_kind=dims.get(dim),
                           code_raw=c["Identifier"], title=c.get("Title"), description=c.get("Description"),
                           group_id=c.get("DimensionGroupId"), status_raw=c.get("Status"))
                      for e in files for c in _json_value(landing, e)]
    data = _data_pages(ents, "Observations", table_id, fetch_id)
    pages = _v4_pages(landing, data, table_id, fetch_id, region, period, others)
    return Capture(table_id, fetch_id, "cbs_v4", in_batches(pages, BATCH_ROWS), measures,
                   _frame(codes, CODE_COLUMNS), [])


def _v4_pages(landing: LandingZone, pages: list[LandingEntry], table_id: str, fetch_id: str, region: str,
              period: str, others: list[str]) -> Iterator[pl.DataFrame]:
    rules = source_formats.v4_observations([region, period, *others])
    columns = ["Id", "Measure", "ValueAttribute", "Value", region, period, *others]
    for e in pages:
        df = _json_page(landing, e, columns)
        _check_format(rules, df, e.path)
        yield _frame(df.select(
            pl.lit(table_id).alias("table_id"), pl.lit(fetch_id).alias("fetch_id"), pl.lit(e.path).alias("source_path"),
            pl.col("Id").cast(pl.Int64).alias("source_row"), pl.col("Measure").alias("measure_code"),
            pl.col(region).alias("region_raw"), pl.col(period).alias("period_raw"),
            _other_dims(df, others).alias("other_dims_raw"),
            pl.col("Value").cast(pl.Float64).cast(pl.String).alias("value_raw"),
            pl.col("ValueAttribute").alias("value_attribute_raw"),
        ), OBSERVATION_COLUMNS)


# -- v3: opendata.cbs.nl ODataApi / ODataFeed ---------------------------------------------------

@dataclass(frozen=True)
class _V3Layout:
    """Which columns of a v3 fetch are dimensions and which are figures, and the year of a single-year table."""

    dims: dict[str, str]  # key -> Dimension | TimeDimension | GeoDimension | GeoDetail
    topics: list[str]
    measures: pl.DataFrame
    skipped: list[str]
    map_year: str | None = None


def _read_v3(landing: LandingZone, entries: list[LandingEntry], spec: TableSpec) -> Capture:
    ents = _by_entity(entries)
    table_id, fetch_id = spec.id, entries[0].fetch_id
    pages = _data_pages(ents, "TypedDataSet", table_id, fetch_id)
    columns = _page_columns(landing, pages[0])
    layout = (_v3_properties(landing, ents["DataProperties"], columns, table_id, fetch_id) if "DataProperties" in ents
              else _v3_declared(spec, columns, table_id, fetch_id))
    if spec.declared_measures and "DataProperties" in ents:  # a live answer of a table bundled as a CSV export
        ids = _declared_ids(spec, layout.topics)
        layout = replace(layout, measures=layout.measures.with_columns(pl.col("measure_code").replace(ids)
                                                                       .alias("measure_id")))
    region = next((d for d, k in layout.dims.items() if k in GEO_KINDS), None)
    period = next((d for d, k in layout.dims.items() if k == "TimeDimension"), None)
    fixed_period = None
    if period is None and layout.map_year not in (None, ""):
        # A single-year table (e.g. Kerncijfers wijken en buurten 2020): the year is the region map's year.
        period, fixed_period = "Perioden", f"{_int_or_none(layout.map_year)}JJ00"
    if period is None:
        raise CaptureError(f"{table_id}: fetch {fetch_id} has no time dimension and no MapYear to date it")
    others = [d for d in layout.dims if d not in {region, period}]
    codes = [dict(table_id=table_id, fetch_id=fetch_id, dimension=dim, dimension_kind=kind, code_raw=r.get("Key"),
                  title=r.get("Title"), description=r.get("Description"), group_id=r.get("CategoryGroupID"),
                  status_raw=r.get("Status"))
             for dim, kind in layout.dims.items() for e in ents.get(dim, [])
             for r in _rows(landing, e).iter_rows(named=True)]
    batches = _v3_pages(landing, pages, columns, table_id=table_id, fetch_id=fetch_id, region=region, period=period,
                        fixed_period=fixed_period, others=others, topics=layout.topics)
    return Capture(table_id, fetch_id, entries[0].source, in_batches(batches, BATCH_ROWS), layout.measures,
                   _frame(codes, CODE_COLUMNS), layout.skipped)


def _v3_properties(landing: LandingZone, files: list[LandingEntry], columns: list[str], table_id: str,
                   fetch_id: str) -> _V3Layout:
    """Dimensions and figures as CBS's DataProperties state them (text topics are not figures)."""
    props = pl.concat([_rows(landing, e) for e in files], how="diagonal")
    rows = list(props.iter_rows(named=True))
    dims = {r["Key"]: r["Type"] for r in rows if r["Type"] in {"Dimension", "TimeDimension", *GEO_KINDS}}
    topics = [r["Key"] for r in rows
              if r["Type"] == "Topic" and r["Key"] in columns and (r.get("Datatype") or "") != "String"]
    measures = _frame([dict(table_id=table_id, fetch_id=fetch_id, measure_code=r["Key"],
                            title=(r.get("Title") or "").strip(), unit=r.get("Unit"),
                            decimals=_int_or_none(r.get("Decimals")), description=r.get("Description"),
                            metadata_origin="cbs")
                       for r in rows if r["Key"] in topics], MEASURE_COLUMNS)
    map_year = next((r.get("MapYear") for r in rows if r["Type"] in GEO_KINDS), None)
    return _V3Layout(dims, topics, measures, [], map_year)


def _v3_declared(spec: TableSpec, columns: list[str], table_id: str, fetch_id: str) -> _V3Layout:
    """A capture without DataProperties: figures only where config/tables.toml declares them."""
    topics, skipped = _declared_columns(spec, [c for c in columns if c != "ID"])
    if not topics:
        raise CaptureError(f"{table_id}: fetch {fetch_id} has no DataProperties and no declared measures "
                           "in config/tables.toml match its columns")
    dims = {c: ("GeoDimension" if c in {"RegioS", "WijkenEnBuurten"} else
                "TimeDimension" if c == "Perioden" else "Dimension")
            for c in skipped if not _SUFFIX.search(c)}
    return _V3Layout(dims, topics, _declared_measures(spec, table_id, fetch_id, topics),
                     [c for c in skipped if c not in dims])


def _v3_pages(landing: LandingZone, pages: list[LandingEntry], columns: list[str], *, table_id: str, fetch_id: str,
              region: str | None, period: str, fixed_period: str | None, others: list[str],
              topics: list[str]) -> Iterator[pl.DataFrame]:
    rules = source_formats.v3_typed_dataset([region or "RegioS", period, *others], topics)
    for e in pages:
        df = _json_page(landing, e, columns) if e.media_type == "application/json" else _csv(landing, e)
        if fixed_period is not None:
            df = df.with_columns(pl.lit(fixed_period).alias(period))
        if region is None:  # a national table: CBS leaves the region out
            df = df.with_columns(pl.lit("NL01").alias("RegioS"))
        _check_format(rules, df, e.path)
        yield _unpivot(df, table_id=table_id, fetch_id=fetch_id, path=e.path, row_col="ID",
                       region=region or "RegioS", period=period, others=others, topics=topics)


def _page_columns(landing: LandingZone, entry: LandingEntry) -> list[str]:
    if entry.media_type == "application/json":
        return _first_row_keys(landing, entry)
    return pl.read_csv(io.BytesIO(landing.read_bytes(entry)), infer_schema=False, n_rows=0).columns


# -- StatLine CSV downloads -----------------------------------------------------------------------

def _read_statline(landing: LandingZone, entries: list[LandingEntry], spec: TableSpec) -> Capture:
    ents = _by_entity(entries)
    table_id, fetch_id = spec.id, entries[0].fetch_id
    meta = statline_csv.read_metadata(landing.read_bytes(ents["metadata"][0]), ents["metadata"][0].path) \
        if "metadata" in ents else None
    codes: list[dict] = []
    if meta is not None:
        props = meta["DataProperties"]
        dims = {r["Key"]: r["Type"] for r in props.iter_rows(named=True)
                if r["Type"] in {"Dimension", "TimeDimension", *GEO_KINDS}}
        measures = _frame([dict(table_id=table_id, fetch_id=fetch_id, measure_code=r["Key"],
                                title=r["Title"].strip(), unit=r["Unit"],
                                decimals=_int_or_none(r["Decimals"]),
                                description=r["Description"], metadata_origin="cbs")
                           for r in props.iter_rows(named=True) if r["Type"] == "Topic"], MEASURE_COLUMNS)
        codes = [dict(table_id=table_id, fetch_id=fetch_id, dimension=dim, dimension_kind=kind, code_raw=r["Key"],
                      title=r.get("Title"), description=r.get("Description"), group_id=None,
                      status_raw=r.get("Status"))
                 for dim, kind in dims.items() if dim in meta for r in meta[dim].iter_rows(named=True)]
    frames, skipped, memberships = [], [], []
    for kind in ("UntypedDataSet", "TypedDataSet"):
        for e in ents.get(kind, []):
            df = statline_csv.read_untyped(landing.read_bytes(e), e.path)
            if meta is not None:
                topics = [m for m in measures["measure_code"] if m in df.columns]
                skipped = []
            else:
                topics, skipped = _declared_columns(spec, [c for c in df.columns if c != "ID"])
                dims = {c: ("GeoDimension" if c == "RegioS" else "TimeDimension" if c == "Perioden" else "Dimension")
                        for c in skipped if not _SUFFIX.search(c)}
                skipped = [c for c in skipped if c not in dims]
                measures = _declared_measures(spec, table_id, fetch_id, topics)
            region = next(d for d, k in dims.items() if k in GEO_KINDS)
            period = next(d for d, k in dims.items() if k == "TimeDimension")
            others = [d for d in dims if d not in {region, period}]
            _check_format(source_formats.statline_untyped([region, period, *others], topics), df, e.path)
            frames.append(_unpivot(df, table_id=table_id, fetch_id=fetch_id, path=e.path, row_col="ID",
                                   region=region, period=period, others=others, topics=topics))
            memberships.append(_classification_memberships(df, region, period, e.path))
    observations = concat_or_empty(frames, OBSERVATION_COLUMNS)
    if not frames and meta is None:
        raise CaptureError(f"{table_id}: fetch {fetch_id} has neither data nor metadata")
    return Capture(table_id, fetch_id, "statline_csv", observations, measures, _frame(codes, CODE_COLUMNS), skipped,
                   concat_or_empty(memberships, MEMBERSHIP_COLUMNS))


def _classification_memberships(df: pl.DataFrame, region: str, period: str, path: str) -> pl.DataFrame:
    """70072NED's Code_n/Naam_n columns: which COROP, province, landsdeel, labour-market region a region was in."""
    pairs = [(c, f"Naam_{int(c.split('_')[1]) + 1}") for c in df.columns if re.match(r"^Code_\d+$", c)]
    rows = []
    for code_col, name_col in pairs:
        part = df.select(pl.col(region).str.strip_chars().alias("member_code"),
                         pl.col(code_col).str.strip_chars().alias("parent_code"),
                         (pl.col(name_col).str.strip_chars() if name_col in df.columns
                          else pl.lit(None, pl.String)).alias("parent_name"),
                         pl.col(period).str.slice(0, 4).cast(pl.Int64, strict=False).alias("snapshot_year"))
        rows.append(part.filter(pl.col("parent_code").str.slice(0, 2).is_in(HIERARCHY_PREFIXES)))
    return concat_or_empty(rows, MEMBERSHIP_COLUMNS).with_columns(pl.lit(path).alias("source")).unique().select(
        list(MEMBERSHIP_COLUMNS))


# -- a third party's processed CSV ----------------------------------------------------------------

def _read_derived(landing: LandingZone, entries: list[LandingEntry], spec: TableSpec) -> Capture:
    layout = spec.derived_csv
    if layout is None:
        raise CaptureError(f"{spec.id}: derived_csv landing files need a [table.derived_csv] layout in config")
    table_id, fetch_id = spec.id, entries[0].fetch_id
    frames = []
    for e in entries:
        df = _csv(landing, e)
        _check_format(source_formats.derived_panel(layout.region_column, layout.year_column, layout.value_column),
                      df, e.path)
        fixed = ";".join(f"{k}={v}" for k, v in sorted(layout.fixed_dimensions.items()))
        frames.append(_frame(df.with_row_index("source_row", offset=1).select(
            pl.lit(table_id).alias("table_id"), pl.lit(fetch_id).alias("fetch_id"), pl.lit(e.path).alias("source_path"),
            pl.col("source_row").cast(pl.Int64), pl.lit(layout.measure).alias("measure_code"),
            pl.col(layout.region_column).alias("region_raw"),
            (pl.col(layout.year_column).str.strip_chars() + "JJ00").alias("period_raw"),
            pl.lit(fixed).alias("other_dims_raw"), pl.col(layout.value_column).alias("value_raw"),
            pl.lit(None, pl.String).alias("value_attribute_raw"),
        ), OBSERVATION_COLUMNS))
    measures = _declared_measures(spec, table_id, fetch_id, [layout.measure])
    return Capture(table_id, fetch_id, "derived_csv", pl.concat(frames), measures, _frame([], CODE_COLUMNS), [])


_READERS: dict[str, Callable[[LandingZone, list[LandingEntry], TableSpec], Capture]] = {
    "cbs_v4": _read_v4,
    "cbs_v3_api": _read_v3,
    "cbs_v3_feed": _read_v3,
    "statline_csv": _read_statline,
    "derived_csv": _read_derived,
    "derived_json": read_derived_json,
}
