"""Read a third party's processed CBS JSON: one object of region code -> value for one period.

Such files (e.g. 81575NED establishments per municipality, reshaped by a website's build script)
keep CBS's figures but not its response: the region keys lost their prefix and the measure code
is gone. The layout in config/tables.toml ([table.derived_json]) says which key holds the values,
which prefix the region codes lost and which key holds the period; the measure is declared there
with its evidence. Rows come out in the common raw shape, values as text, as for every format.
"""

from __future__ import annotations

import json

import pandera.polars as pa
import polars as pl

from regiostat.landing.zone import LandingEntry, LandingZone
from regiostat.model.observations import CODE_COLUMNS, MEASURE_COLUMNS, OBSERVATION_COLUMNS, Capture, conform
from regiostat.sources.cbs.catalog import TableSpec
from regiostat.sources.protocol import SourceError
from schemas.raw import VALUE_TEXT
from schemas.validation import validate

_FORMAT = pa.DataFrameSchema({
    "region_key": pa.Column(str, pa.Check.str_matches(r"^\d{2,8}$"), unique=True),
    "value_raw": pa.Column(str, pa.Check.str_matches(VALUE_TEXT), nullable=True),
    "period_raw": pa.Column(str, pa.Check.str_matches(r"^\d{4}[A-Z0-9]{2}\d{2}$")),
}, name="derived JSON", strict=False)


class DerivedJsonError(SourceError):
    """A processed JSON file lacks what its layout in config/tables.toml promises."""


def read_derived_json(landing: LandingZone, entries: list[LandingEntry], spec: TableSpec) -> Capture:
    layout = spec.derived_json
    if layout is None:
        raise DerivedJsonError(f"{spec.id}: derived_json landing files need a [table.derived_json] layout in config")
    fetch_id = entries[0].fetch_id
    frames = [_observations(landing, e, spec) for e in entries]
    declared = spec.declared_measures.get(layout.measure)
    if declared is None:
        raise DerivedJsonError(f"{spec.id}: measure {layout.measure!r} of [table.derived_json] needs a "
                               f"[table.declared_measures.{layout.measure}] entry (unit, decimals, evidence)")
    measures = pl.DataFrame([dict(table_id=spec.id, fetch_id=fetch_id, measure_code=layout.measure,
                                  measure_id=declared.key, title=declared.title, unit=declared.unit,
                                  decimals=declared.decimals, description=declared.evidence,
                                  metadata_origin="declared")], schema=MEASURE_COLUMNS)
    return Capture(spec.id, fetch_id, "derived_json", pl.concat(frames), measures, pl.DataFrame(schema=CODE_COLUMNS),
                   [])


def _observations(landing: LandingZone, entry: LandingEntry, spec: TableSpec) -> pl.DataFrame:
    layout = spec.derived_json
    try:
        doc = json.loads(landing.read_bytes(entry))
    except json.JSONDecodeError as exc:
        raise DerivedJsonError(f"{entry.path}: invalid JSON at line {exc.lineno} column {exc.colno}") from exc
    values, period = doc.get(layout.values), doc.get(layout.period)
    if not isinstance(values, dict) or not isinstance(period, str):
        raise DerivedJsonError(f"{entry.path}: expected an object under {layout.values!r} and a period code under "
                               f"{layout.period!r} (config/tables.toml [table.derived_json] of {spec.id})")
    texts = [None if v is None else str(v) for v in values.values()]
    df = pl.DataFrame({"region_key": list(values), "value_raw": texts, "period_raw": [period] * len(values)},
                      schema={k: pl.String for k in _FORMAT.columns})
    result = validate(_FORMAT, df)
    if not result.passed:
        raise DerivedJsonError(f"{entry.path}: {result.summary(limit=5)}")
    fixed = ";".join(f"{k}={v}" for k, v in sorted(layout.fixed_dimensions.items()))
    return conform(df.with_row_index("source_row", offset=1).select(
        pl.lit(spec.id).alias("table_id"), pl.lit(entry.fetch_id).alias("fetch_id"),
        pl.lit(entry.path).alias("source_path"), pl.col("source_row").cast(pl.Int64),
        pl.lit(layout.measure).alias("measure_code"), (pl.lit(layout.region_prefix) + pl.col("region_key"))
        .alias("region_raw"), "period_raw", pl.lit(fixed).alias("other_dims_raw"), "value_raw",
        pl.lit(None, pl.String).alias("value_attribute_raw"),
    ), OBSERVATION_COLUMNS)
