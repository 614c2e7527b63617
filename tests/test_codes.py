from regiostat.codes import normalise_status, parse_period, parse_unit, region_level, scaled_decimals


def test_units_scale_and_base():
    assert parse_unit("x 1 000") .scale == 1000 and parse_unit("x 1 000").base == "aantal"
    assert (parse_unit("x 1 000 euro").scale, parse_unit("x 1 000 euro").base) == (1000, "euro")
    assert (parse_unit("x 1 000 000").scale, parse_unit("aantal").scale, parse_unit("%").base) == (1_000_000, 1, "%")
    assert scaled_decimals(1, 1000) == 0 and scaled_decimals(1, 1) == 1 and scaled_decimals(3, 10) == 2


def test_periods_statuses_and_levels():
    p = parse_period("2020KW03")
    assert (p.year, p.period_type, p.number) == (2020, "kwartaal", 3)
    assert parse_period("2020") is None
    assert [normalise_status(s) for s in ["Definitief", "NaderVoorlopig", "Nader voorlopig", None, "?"]] == [
        "definitief", "nader voorlopig", "nader voorlopig", "onbekend", "onbekend"]
    assert [region_level(c) for c in ["NL01", "PV22", "CR08", "GM0114", "XX01"]] == [
        "land", "provincie", "corop", "gemeente", None]
