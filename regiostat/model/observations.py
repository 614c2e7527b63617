"""The common raw shape: what every source reads a landed, complete fetch into.

Four frames per fetch, whatever the source (CBS v4 JSON, v3 JSON or CSV, a StatLine download, a
LISA export, a municipality list): observations with codes and values still as received, the
measures with their units, the codes of every dimension with their titles, and region
memberships where the fetch states them. Typing and trimming happen in staging, not here. The
columns ``reference_date`` and ``attribution`` carry a source's own provenance per row (LISA: 1
April of the year and "Bron: LISA <jaar>").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

import polars as pl

OBSERVATION_COLUMNS = {
    "table_id": pl.String, "fetch_id": pl.String, "source_path": pl.String, "source_row": pl.Int64,
    "measure_code": pl.String, "region_raw": pl.String, "period_raw": pl.String, "other_dims_raw": pl.String,
    "value_raw": pl.String, "value_attribute_raw": pl.String, "reference_date": pl.Date, "attribution": pl.String,
}
MEASURE_COLUMNS = {
    "table_id": pl.String, "fetch_id": pl.String, "measure_code": pl.String, "measure_id": pl.String,
    "title": pl.String, "unit": pl.String, "decimals": pl.Int64, "description": pl.String, "metadata_origin": pl.String,
}
CODE_COLUMNS = {
    "table_id": pl.String, "fetch_id": pl.String, "dimension": pl.String, "dimension_kind": pl.String,
    "code_raw": pl.String, "title": pl.String, "description": pl.String, "group_id": pl.String,
    "status_raw": pl.String,
}
MEMBERSHIP_COLUMNS = {
    "member_code": pl.String, "parent_code": pl.String, "parent_name": pl.String, "snapshot_year": pl.Int64,
    "source": pl.String,
}
# dimension_kind of a code list: region codes, period codes, or any other dimension
GEO_KINDS = {"GeoDimension", "GeoDetail"}
TIME_KIND = "TimeDimension"
OTHER_KIND = "Dimension"


def concat_or_empty(frames: list[pl.DataFrame], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """The frames stacked; an empty frame of ``schema``'s shape when there are none."""
    return pl.concat(frames) if frames else pl.DataFrame(schema=schema)


def in_batches(frames: Iterable[pl.DataFrame], rows: int) -> Iterator[pl.DataFrame]:
    """Frames joined into batches of about ``rows`` rows: fewer, larger writes, memory still bounded."""
    held: list[pl.DataFrame] = []
    size = 0
    for frame in frames:
        held.append(frame)
        size += frame.height
        if size >= rows:
            yield pl.concat(held, how="vertical")
            held, size = [], 0
    if held:
        yield pl.concat(held, how="vertical")


def conform(frame: pl.DataFrame, columns: dict[str, pl.DataType]) -> pl.DataFrame:
    """``frame`` with exactly ``columns``, in order and type; a column it lacks is null."""
    return frame.select([pl.col(c).cast(t) if c in frame.columns else pl.lit(None, t).alias(c)
                         for c, t in columns.items()])


@dataclass
class Capture:
    """One complete fetch in the common raw shape.

    ``observations`` is a frame, or batches of rows read one at a time while they are written (the pages
    of a national table: the raw step never holds the whole fetch); the other frames are small.
    """

    table_id: str
    fetch_id: str
    source_format: str
    observations: pl.DataFrame | Iterable[pl.DataFrame]
    measures: pl.DataFrame
    codes: pl.DataFrame
    skipped_columns: list[str]
    memberships: pl.DataFrame = field(default_factory=lambda: concat_or_empty([], MEMBERSHIP_COLUMNS))

    def observation_batches(self) -> Iterator[pl.DataFrame]:
        """The observations, batch by batch, each with exactly OBSERVATION_COLUMNS (bound now: reassigning
        ``observations`` afterwards does not change what this yields)."""
        batches = [self.observations] if isinstance(self.observations, pl.DataFrame) else self.observations
        return (conform(batch, OBSERVATION_COLUMNS) for batch in batches)

    def collected(self) -> Capture:
        """The same capture with every batch read into one frame (for small captures and tests)."""
        frame = concat_or_empty(list(self.observation_batches()), OBSERVATION_COLUMNS)
        return replace(self, observations=frame)
