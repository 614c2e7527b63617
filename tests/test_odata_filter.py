"""The $filter evaluator of the local CBS server: the subset CBS serves and regiostat's config sends."""

import polars as pl
import pytest

from regiostat.sources.cbs.catalog import load_catalog
from regiostat.sources.cbs.client import region_period_filter
from tests.conftest import PATHS
from tests.odata_filter import Call, Compare, FilterError, Logical, Not, RowColumns, matching_rows, parse

ROWS = [  # v3-style padded keys, a v4-style unpadded one, a number and a null
    {"RegioS": "CR08  ", "Perioden": "2019JJ00", "Geslacht": "T001038", "RecordCount": 7440, "Title": "Emmen"},
    {"RegioS": "GM0114", "Perioden": "2018JJ00", "Geslacht": "3000", "RecordCount": 12, "Title": "'s-Gravenhage"},
    {"RegioS": "PV22  ", "Perioden": "2020JJ00", "Geslacht": "T001038", "RecordCount": None, "Title": "Drenthe"},
    {"RegioS": "NL01", "Perioden": "2019JJ00", "Geslacht": "4000", "RecordCount": 100, "Title": "Nederland"},
]


def kept(expr: str) -> list[int]:
    return matching_rows(expr, RowColumns(ROWS)).to_list()


@pytest.mark.parametrize(("expr", "rows"), [
    ("substringof('CR', RegioS)", [0]),
    ("startswith(RegioS,'GM')", [1]),
    ("endswith(RegioS, '  ')", [0, 2]),
    ("contains(RegioS,'2')", [2]),
    ("RegioS eq 'CR08  '", [0]),
    ("RegioS eq 'CR08'", []),  # v3 keys are padded: an unpadded key matches nothing, as at CBS
    ("RegioS ne 'NL01'", [0, 1, 2]),
    ("Perioden ge '2019JJ00'", [0, 2, 3]),
    ("Perioden gt '2019JJ00'", [2]),
    ("Perioden lt '2019JJ00'", [1]),
    ("Perioden le '2019JJ00'", [0, 1, 3]),
    ("'2019JJ00' le Perioden", [0, 2, 3]),  # literal first: the comparison is turned round
    ("RecordCount ge 100", [0, 3]),  # a null never compares true
    ("Title eq '''s-Gravenhage'", [1]),  # a quote inside a literal is written twice
    ("not startswith(RegioS,'GM')", [0, 2, 3]),
    ("Geslacht eq 'T001038' and (startswith(RegioS,'NL') or startswith(RegioS,'PV'))", [2]),
    ("Geslacht eq 'T001038' and startswith(RegioS,'NL') or startswith(RegioS,'PV')", [2]),  # and binds tighter
    ("startswith(RegioS,'PV') or startswith(RegioS,'GM') and Perioden eq '2019JJ00'", [2]),
    ("(startswith(RegioS,'PV') or startswith(RegioS,'GM')) and Perioden eq '2018JJ00'", [1]),
])
def test_filter_keeps_the_rows_cbs_would(expr, rows):
    assert kept(expr) == rows


def test_parse_builds_the_expected_tree():
    assert parse("substringof('CR', RegioS) and not Perioden lt '2019JJ00'") == Logical(
        "and", Call("substringof", "RegioS", "CR"), Not(Compare("Perioden", "lt", "2019JJ00")))


def test_every_shipped_live_filter_parses():
    filters = {s.id: s.live_filter for s in load_catalog(PATHS.tables_toml) if s.live_filter}
    assert {"83582NED", "03759NED", "84799NED"} <= set(filters)
    for table, expr in filters.items():
        assert parse(expr) is not None, table


def test_the_filters_regiostat_builds_are_understood():
    expr = region_period_filter(["CR08", "GM0114"], ["2019JJ00"], padded_width=6)
    assert kept(expr) == [0]


@pytest.mark.parametrize("expr", [
    "RegioS eq",  # no literal
    "(RegioS eq 'NL01'",  # unbalanced
    "RegioS eq 'NL01')",
    "RegioS like 'NL%'",  # not an OData operator
    "indexof(RegioS,'NL') eq 0",  # a function outside the subset
    "startswith('NL', RegioS)",  # arguments the wrong way round for startswith
    "RegioS eq Perioden",  # two fields
    "Bestaatniet eq 'x'",  # no such property
    "RegioS eq 5",  # text against a number
    "RegioS eq 'NL01' and",
])
def test_filters_outside_the_subset_are_refused(expr):
    with pytest.raises(FilterError):
        kept(expr)


def test_no_filter_means_every_row():
    assert matching_rows(None, RowColumns(ROWS)) is None
    assert matching_rows("", RowColumns(ROWS)) is None


def test_distinct_values_are_evaluated_once_and_spread_by_index():
    columns = RowColumns(ROWS * 1000)
    values, inverse = columns.distinct("Geslacht")
    assert values == ["T001038", "3000", "4000"]
    assert inverse.dtype == pl.UInt32 and inverse.len() == 4000
    assert matching_rows("Geslacht eq '3000'", columns).len() == 1000
