"""Raw per source format: what each kind of landed file must look like before it is unpivoted.

These catch schema drift (a renamed, missing or retyped column) at the door, with the file named,
instead of letting a shifted column turn into wrong figures downstream.
"""

import pandera.polars as pa

from regiostat.codes import VALUE_ATTRIBUTES
from schemas.raw import VALUE_TEXT

CODE = r"^\s*\S+\s*$"


def v4_observations(dimensions: list[str]) -> pa.DataFrameSchema:
    """datasets.cbs.nl Observations rows: Id, Measure, ValueAttribute, Value, StringValue, one column per dimension."""
    return pa.DataFrameSchema(
        {
            "Id": pa.Column(int, unique=True),
            "Measure": pa.Column(str, pa.Check.str_matches(CODE)),
            "ValueAttribute": pa.Column(str, pa.Check.isin(list(VALUE_ATTRIBUTES))),
            "Value": pa.Column(float, nullable=True, coerce=True),
            **{d: pa.Column(str, pa.Check.str_matches(CODE)) for d in dimensions},
        },
        name="v4 Observations", strict=False,
    )


def _keyed_dataset(name: str, id_pattern: str, dimensions: list[str], topics: list[str]) -> pa.DataFrameSchema:
    """A dataset as landed, all text: a unique row ID, one code column per dimension, one value column per topic."""
    return pa.DataFrameSchema(
        {
            "ID": pa.Column(str, pa.Check.str_matches(id_pattern), unique=True),
            **{d: pa.Column(str, pa.Check.str_matches(CODE)) for d in dimensions},
            **{t: pa.Column(str, pa.Check.str_matches(VALUE_TEXT), nullable=True) for t in topics},
        },
        name=name, strict=False,
    )


def v3_typed_dataset(dimensions: list[str], topics: list[str]) -> pa.DataFrameSchema:
    """v3 TypedDataSet (JSON or CSV as landed, all text here): ID, padded dimension keys, topic values."""
    return _keyed_dataset("v3 TypedDataSet", r"^\d+$", dimensions, topics)


def statline_untyped(dimensions: list[str], topics: list[str]) -> pa.DataFrameSchema:
    """StatLine UntypedDataSet download: every value right-aligned text, `.` for missing."""
    return _keyed_dataset("StatLine UntypedDataSet", r"^\s*\d+\s*$", dimensions, topics)


def derived_panel(region: str, year: str, value: str) -> pa.DataFrameSchema:
    """A third party's processed panel: region code, 4-digit year, a number."""
    return pa.DataFrameSchema(
        {
            region: pa.Column(str, pa.Check.str_matches(r"^[A-Z]{2}\d{2,8}$")),
            year: pa.Column(str, pa.Check.str_matches(r"^\d{4}$")),
            value: pa.Column(str, pa.Check.str_matches(VALUE_TEXT), nullable=True),
        },
        name="derived panel", strict=False,
    )
