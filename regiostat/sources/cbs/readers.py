"""Read one complete CBS fetch from the landing zone into a ``Capture``: the raw layer.

Every CBS format (v4 JSON, v3 JSON or CSV, StatLine CSV, a third party's processed CSV) ends up
in the common raw shape of :mod:`regiostat.model.observations`, with codes and values still
exactly as received (padding, `.` for missing). Typing and trimming happen in staging, not here.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable

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
)
from regiostat.sources.cbs import formats as source_formats
from regiostat.sources.cbs import statline_csv
from regiostat.sources.cbs.catalog import TableSpec
from regiostat.sources.cbs.derived_json import read_derived_json
from regiostat.sources.protocol import SourceError
from schemas.validation import validate

# Region classifications that nest (a municipality lies in exactly one of each); others (GGD, police...) are skipped.
HIERARCHY_PREFIXES = ("AM", "CR", "PV", "LD")
_SUFFIX = re.compile(r"_\d+$")


class CaptureError(SourceError):
    """A landed file does not have the shape its source format promises."""


def read_capture(landing: LandingZone, entries: list[LandingEntry], spec: TableSpec) -> Capture:
    if not entries:
        raise CaptureError(f"{spec.id}: the fetch has no files")
    source = entries[0].source
    reader = _READERS.get(source)
    if reader is None:
        raise CaptureError(f"{spec.id}: no reader for source format {source!r}")
    return reader(landing, entries, spec)


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


def _rows(landing: LandingZone, entry: LandingEntry) -> pl.DataFrame:
    """A v3 entity as landed: JSON ``value`` list (live) or CSV (bundled conversions)."""
    if entry.media_type == "application/json":
        value = _json_value(landing, entry)
        return pl.DataFrame([{k: (None if v is None else str(v)) for k, v in r.items()} for r in value],
                            infer_schema_length=None) if value else pl.DataFrame()
    return _csv(landing, entry)


def _check_format(schema, df: pl.DataFrame, path: str) -> None:
    """Refuse a file that breaks its source format's promises, naming file, row and rule."""
    result = validate(schema, df)
    if not result.passed:
        raise CaptureError(f"{path}: {result.summary(limit=5)}")


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


def _declared_columns(spec: TableSpec, columns: list[str]) -> tuple[list[str], list[str]]:
    """Columns that match a declared measure (by full key, or key without its _<n> suffix)."""
    keep, seen = [], set()
    for col in columns:
        base = _SUFFIX.sub("", col)
        m = spec.declared_measures.get(col) or spec.declared_measures.get(base)
        if m is None or (m.column_position == "first" and m.key in seen):
            continue
        seen.add(m.key)
        keep.append(col)
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
    frames = []
    for e in _data_pages(ents, "Observations", table_id, fetch_id):
        value = _json_value(landing, e)
        df = pl.DataFrame(value, infer_schema_length=None) if value else pl.DataFrame()
        _check_format(source_formats.v4_observations([region, period, *others]), df, e.path)
        frames.append(_frame(df.select(
            pl.lit(table_id).alias("table_id"), pl.lit(fetch_id).alias("fetch_id"), pl.lit(e.path).alias("source_path"),
            pl.col("Id").cast(pl.Int64).alias("source_row"), pl.col("Measure").alias("measure_code"),
            pl.col(region).alias("region_raw"), pl.col(period).alias("period_raw"),
            _other_dims(df, others).alias("other_dims_raw"),
            pl.col("Value").cast(pl.Float64).cast(pl.String).alias("value_raw"),
            pl.col("ValueAttribute").alias("value_attribute_raw"),
        ), OBSERVATION_COLUMNS))
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
    observations = concat_or_empty(frames, OBSERVATION_COLUMNS)
    return Capture(table_id, fetch_id, "cbs_v4", observations, measures, _frame(codes, CODE_COLUMNS), [])


# -- v3: opendata.cbs.nl ODataApi / ODataFeed ---------------------------------------------------

def _read_v3(landing: LandingZone, entries: list[LandingEntry], spec: TableSpec) -> Capture:
    ents = _by_entity(entries)
    table_id, fetch_id = spec.id, entries[0].fetch_id
    props = pl.concat([_rows(landing, e) for e in ents.get("DataProperties", [])], how="diagonal") \
        if "DataProperties" in ents else None
    data = [(e, _rows(landing, e)) for e in _data_pages(ents, "TypedDataSet", table_id, fetch_id)]
    columns = data[0][1].columns
    map_year = None
    if props is not None:
        dims = {r["Key"]: r["Type"] for r in props.iter_rows(named=True)
                if r["Type"] in {"Dimension", "TimeDimension", *GEO_KINDS}}
        topics = [r["Key"] for r in props.iter_rows(named=True)
                  if r["Type"] == "Topic" and r["Key"] in columns and (r.get("Datatype") or "") != "String"]
        measures = _frame([dict(table_id=table_id, fetch_id=fetch_id, measure_code=r["Key"],
                                title=(r.get("Title") or "").strip(), unit=r.get("Unit"),
                                decimals=_int_or_none(r.get("Decimals")),
                                description=r.get("Description"), metadata_origin="cbs")
                           for r in props.iter_rows(named=True) if r["Key"] in topics], MEASURE_COLUMNS)
        skipped = []
        map_year = next((r.get("MapYear") for r in props.iter_rows(named=True) if r["Type"] in GEO_KINDS), None)
    else:
        topics, skipped = _declared_columns(spec, [c for c in columns if c != "ID"])
        if not topics:
            raise CaptureError(f"{table_id}: fetch {fetch_id} has no DataProperties and no declared measures "
                               "in config/tables.toml match its columns")
        dims = {c: ("GeoDimension" if c in {"RegioS", "WijkenEnBuurten"} else
                    "TimeDimension" if c == "Perioden" else "Dimension")
                for c in skipped if not _SUFFIX.search(c)}
        skipped = [c for c in skipped if c not in dims]
        measures = _declared_measures(spec, table_id, fetch_id, topics)
    region = next((d for d, k in dims.items() if k in GEO_KINDS), None)
    period = next((d for d, k in dims.items() if k == "TimeDimension"), None)
    if period is None and props is not None and map_year not in (None, ""):
        # A single-year table (e.g. Kerncijfers wijken en buurten 2020): the year is the region map's year.
        period = "Perioden"
        data = [(e, df.with_columns(pl.lit(f"{_int_or_none(map_year)}JJ00").alias(period))) for e, df in data]
    if period is None:
        raise CaptureError(f"{table_id}: fetch {fetch_id} has no time dimension and no MapYear to date it")
    others = [d for d in dims if d not in {region, period}]
    frames = []
    for e, df in data:
        if region is None:  # a national table: CBS leaves the region out
            df = df.with_columns(pl.lit("NL01").alias("RegioS"))
        _check_format(source_formats.v3_typed_dataset([region or "RegioS", period, *others], topics), df, e.path)
        frames.append(_unpivot(df, table_id=table_id, fetch_id=fetch_id, path=e.path, row_col="ID",
                               region=region or "RegioS", period=period, others=others, topics=topics))
    codes = [dict(table_id=table_id, fetch_id=fetch_id, dimension=dim, dimension_kind=kind, code_raw=r.get("Key"),
                  title=r.get("Title"), description=r.get("Description"), group_id=r.get("CategoryGroupID"),
                  status_raw=r.get("Status"))
             for dim, kind in dims.items() for e in ents.get(dim, []) for r in _rows(landing, e).iter_rows(named=True)]
    return Capture(table_id, fetch_id, entries[0].source, pl.concat(frames), measures, _frame(codes, CODE_COLUMNS),
                   skipped)


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
