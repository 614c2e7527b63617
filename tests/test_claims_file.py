"""The published-claims files and their loader: real files load and quote their documents
verbatim; figures become the right intervals; every malformed entry is refused by name."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from regiostat.reconcile.claims_file import ClaimsFileError, load_claims, quote_lines
from regiostat.reconcile.precision import FigureError, parse_figure, parse_precision
from tests.conftest import REPO

CLAIMS = REPO / "config" / "claims"
FIXTURES = REPO / "data" / "documents"  # holds seeds/<document>, like the shared folder
SHARED_SEEDS = REPO.parent / "shared" / "seeds"
INDICATORS = {i["code"] for i in tomllib.loads((REPO / "config" / "indicators.toml").read_text())["indicator"]}
REGIONS = {"dutch_techzone", "oost_nederland", "NL01"}
DTZ = CLAIMS / "dutch_techzone_strategische_koers_2022_2025.toml"
THINK_EAST = CLAIMS / "think_east_netherlands.toml"


def load(paths, **kw):
    kw.setdefault("documents_root", FIXTURES)
    return load_claims(paths, known_indicators=INDICATORS, known_regions=REGIONS, **kw)


# --- the real claims files ------------------------------------------------------------------

@pytest.fixture(scope="module")
def real() -> dict:
    return {c.claim_id: c for c in load([DTZ, THINK_EAST], require_documents=True)}


def test_real_files_load(real):
    assert sum(c.source.endswith("004_5a5f99b53d6b1495.txt") for c in real.values()) == 25
    assert sum(c.source.endswith("000_8f84cb04e04b724e.txt") for c in real.values()) == 1
    assert all(c.source_kind == "document" and c.low <= c.value <= c.high for c in real.values())
    assert {c.claim_id for c in load(CLAIMS)} >= set(real)  # a folder loads too


@pytest.mark.parametrize("claims_file", [DTZ, THINK_EAST], ids=lambda p: p.stem)
def test_every_quote_occurs_verbatim_in_its_seed(claims_file):
    """Independent of the loader: whitespace runs aside, each quote is in the document text."""
    for entry in tomllib.loads(claims_file.read_text())["claim"]:
        text = " ".join((FIXTURES / entry["document"]).read_text(encoding="utf-8").split())
        assert " ".join(entry["quote"].split()) in text, entry["id"]
        assert entry["written"] in entry["quote"], entry["id"]


@pytest.mark.skipif(not SHARED_SEEDS.is_dir(), reason="shared seeds folder not present")
def test_fixture_seeds_are_copies_of_the_shared_seeds():
    for name in ("004_5a5f99b53d6b1495.txt", "000_8f84cb04e04b724e.txt"):
        assert (FIXTURES / "seeds" / name).read_bytes() == (SHARED_SEEDS / name).read_bytes()


def test_custom_regions_used_are_defined(real):
    defined = {r["id"] for r in tomllib.loads((REPO / "config" / "regions.toml").read_text())["region"]}
    custom = {c.quantity.region for c in real.values()} - {"NL01"}
    assert custom <= defined


def test_both_2020_industry_job_figures_are_kept(real):
    a, b = real["dtz-2020-industry-jobs-p61"], real["dtz-2020-industry-jobs-p67"]
    assert a.quantity == b.quantity
    assert str(a.quantity) == "lisa_jobs_manufacturing_c[dutch_techzone, 2020]"
    assert (a.value, a.low, a.high) == (18100, 18050, 18150)
    assert (b.value, b.low, b.high) == (18300, 18250, 18350)
    assert "18.100" in a.quote and "18.300" in b.quote


def test_interpretations_of_the_real_claims(real):
    jobs = real["dtz-2020-jobs-p59"]
    assert str(jobs.quantity) == "lisa_jobs[dutch_techzone, 2020]"
    assert (jobs.low, jobs.high) == (118000, 119000)
    assert jobs.notes.startswith("Reference date: stand september 2020.")
    change = real["dtz-2016-2020-jobs-change-p59"]
    assert str(change.quantity) == "change:lisa_jobs[dutch_techzone, 2016/2020]" and change.value == 3500
    plf = real["dtz-potential-labour-force-change-p93"]
    assert (plf.value, plf.low, plf.high) == (-20000, -25000, -15000)
    assert plf.quantity.period == "2020/unknown"
    assert real["dtz-nl-education-share-mbo-p87"].quantity.region == "NL01"
    assert (real["dtz-education-share-high-p89"].value, real["dtz-nl-education-share-high-p89"].value) == (25, 38)
    east = real["think-east-industry-share-p22"]
    assert str(east.quantity) == "cbs_industry_share_c[oost_nederland, unknown]"
    assert (east.low, east.high) == (13.5, 14.5)
    written_apart = ("dtz-2020-manufacturing-establishments-p65", "dtz-2020-manufacturing-establishments-p77")
    assert [real[i].value for i in written_apart] == [1030, 1030]  # "1030" and "1.030"


# --- precision ------------------------------------------------------------------------------

@pytest.mark.parametrize("written, kw, expected", [
    ("18.100", {}, (18100, 18050, 18150)),
    ("22.420", {}, (22420, 22415, 22425)),
    ("910", {}, (910, 905, 915)),
    ("1030", {}, (1030, 1025, 1035)),
    ("1.030", {}, (1030, 1025, 1035)),
    ("18 100", {}, (18100, 18050, 18150)),
    ("ruim 118.000", {}, (118000, 118000, 119000)),
    ("Ruim 20.000", {}, (20000, 20000, 22000)),  # reach capped at 10%
    ("bijna 118.000", {}, (118000, 117000, 118000)),
    ("circa 22.420", {}, (22420, 21299, 23541)),  # at least +-5%
    ("naar schatting 20.000", {}, (20000, 15000, 25000)),
    ("ongeveer 5", {}, (5, 4.5, 5.5)),
    ("15,6%", {}, (15.6, 15.55, 15.65)),
    ("15,6 %", {}, (15.6, 15.55, 15.65)),
    ("14%", {}, (14, 13.5, 14.5)),
    ("40%", {}, (40, 39.5, 40.5)),  # whole percentages are not read as rounded to 10
    ("20,3 arbeidsplaats/bedrijf", {}, (20.3, 20.25, 20.35)),
    ("17,7", {}, (17.7, 17.65, 17.75)),
    ("18,1", {"scale": 1000}, (18100, 18050, 18150)),
    ("120", {"scale": 1000}, (120000, 119500, 120500)),
    ("twee keer zoveel", {}, (2, 1.5, 2.5)),
    ("910", {"unit": 0}, (910, 910, 910)),
    ("ruim 118.000", {"unit": 2000}, (118000, 118000, 120000)),
    ("-3.500", {}, (-3500, -3550, -3450)),
])
def test_parse_figure_nl(written, kw, expected):
    fig = parse_figure(written, locale="nl", **kw)
    assert (fig.value, fig.low, fig.high) == expected


def test_locale_decides_the_separators():
    assert parse_figure("18,100", locale="en").value == 18100
    assert parse_figure("18,100", locale="nl").value == 18.1
    assert parse_figure("15.6%", locale="en").high == 15.65
    with pytest.raises(TypeError):
        parse_figure("18.100")  # locale is required  # type: ignore[call-arg]


def test_precision_texts():
    assert parse_figure("18,1", locale="nl", scale=1000).precision == "rounded to 100 (x 1 000, 1 decimal)"
    assert parse_figure("ruim 118.000", locale="nl").precision.startswith("ruim: [X, X + 1000]")
    assert parse_figure("910", locale="nl", unit=0).precision == "exact (override)"


@pytest.mark.parametrize("written, locale", [
    ("1.03", "nl"), ("18.10", "nl"), ("abc", "nl"), ("12x", "nl"), ("", "nl"), ("ruim", "nl"), ("18.100", "de"),
])
def test_parse_figure_refuses(written, locale):
    with pytest.raises(FigureError):
        parse_figure(written, locale=locale)


def test_parse_precision():
    assert parse_precision("exact") == 0
    assert parse_precision("nearest 10") == 10
    assert float(parse_precision("nearest 0.1")) == 0.1
    for bad in ("10", "nearest", "nearest 0", "about 10", "nearest 1,5"):
        with pytest.raises(FigureError):
            parse_precision(bad)


def test_quote_lines_ignore_layout_breaks():
    text = "Kop\n\nIn 2016 telde de industrie 18.400\n\narbeidsplaatsen. Zo.\nIn 2016 telde"
    assert quote_lines("In 2016 telde de industrie 18.400 arbeidsplaatsen.", text) == [3]
    assert quote_lines("In 2016 telde", text) == [3, 6]
    assert quote_lines("In 2016 telde de industrie 18.400 banen.", text) == []


# --- malformed entries ----------------------------------------------------------------------

DOC_TEXT = "Titel\n\nDe regio telt ruim 118.000 banen (stand 2020). Het aandeel is\n15,6%.\n"
GOOD = {
    "id": "t-2020-jobs", "document": "seeds/doc.txt", "location": "line 3, Titel",
    "quote": "De regio telt ruim 118.000 banen (stand 2020).", "written": "ruim 118.000",
    "indicator": "lisa_jobs", "region": "dutch_techzone", "period": "2020",
}


def _toml(value) -> str:
    return json.dumps(value, ensure_ascii=False)  # JSON strings, numbers and arrays are valid TOML


def write_claims(path: Path, claims: list[dict], document: dict | None = None) -> Path:
    document = {"title": "Test", "locale": "nl", "published": "2021"} if document is None else document
    lines = ["[document]"] + [f"{k} = {_toml(v)}" for k, v in document.items()]
    for claim in claims:
        lines += ["", "[[claim]]"] + [f"{k} = {_toml(v)}" for k, v in claim.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def root(tmp_path) -> Path:
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "doc.txt").write_text(DOC_TEXT, encoding="utf-8")
    return tmp_path


def test_good_entry_loads(root):
    share = GOOD | {"id": "t-2020-share", "location": "lines 3-4", "quote": "Het aandeel is 15,6%.",
                    "written": "15,6%", "indicator": "unmapped:some_share"}
    change = GOOD | {"id": "t-change", "indicator": "change:lisa_jobs", "base_period": "2016",
                     "direction": "decrease", "written": "118.000", "precision": "nearest 1",
                     "reference_date": "stand 2020", "notes": "n"}
    [jobs, s, c] = load(write_claims(root / "c.toml", [GOOD, share, change]), documents_root=root)
    assert (jobs.value, jobs.low, jobs.high) == (118000, 118000, 119000)
    assert (jobs.vintage, jobs.source, jobs.source_kind) == ("2021", "seeds/doc.txt", "document")
    assert (s.quantity.indicator, s.low, s.high) == ("unmapped:some_share", 15.55, 15.65)
    assert str(c.quantity) == "change:lisa_jobs[dutch_techzone, 2016/2020]"
    assert (c.value, c.low, c.high) == (-118000, -118000.5, -117999.5)
    assert c.notes == "Reference date: stand 2020. n"


def test_an_assumed_period_is_kept_for_the_closest_figure_only(root):
    [claim] = load(write_claims(root / "c.toml", [GOOD | {"period": "unknown", "assumed_period": "2019"}]),
                   documents_root=root)
    assert claim.quantity.period == "unknown" and claim.assumed_period == "2019"


def test_interval_override(root):
    [claim] = load(write_claims(root / "c.toml", [GOOD | {"interval": [118000, 120000]}]), documents_root=root)
    assert (claim.low, claim.high, claim.precision) == (118000, 120000, "interval set in the claims file")


def test_missing_document_skips_the_quote_check_unless_required(root):
    entry = GOOD | {"document": "seeds/absent.txt", "quote": "Not in any document: ruim 118.000."}
    path = write_claims(root / "c.toml", [entry])
    assert len(load(path, documents_root=root)) == 1
    with pytest.raises(ClaimsFileError) as e:
        load(path, documents_root=root, require_documents=True)
    assert e.value.field == "document"


MALFORMED = [
    ("missing quote", {"quote": None}, "quote"),
    ("missing period", {"period": None}, "period"),
    ("missing written", {"written": None}, "written"),
    ("empty region", {"region": " "}, "region"),
    ("not text", {"period": 2020}, "period"),
    ("unknown field", {"note": "typo for notes"}, "note"),
    ("unknown indicator", {"indicator": "lisa_banen"}, "indicator"),
    ("bad unmapped name", {"indicator": "unmapped:"}, "indicator"),
    ("change of unknown indicator",
     {"indicator": "change:lisa_banen", "base_period": "2016", "direction": "increase"}, "indicator"),
    ("change without direction", {"indicator": "change:lisa_jobs", "base_period": "2016"}, "direction"),
    ("change without base", {"indicator": "change:lisa_jobs", "direction": "increase"}, "base_period"),
    ("bad direction", {"indicator": "change:lisa_jobs", "base_period": "2016", "direction": "up"}, "direction"),
    ("base on a level", {"base_period": "2016"}, "base_period"),
    ("unknown region", {"region": "GM9999"}, "region"),
    ("bad period", {"period": "2020JJ00"}, "period"),
    ("unparseable written", {"written": "ruim 118.00"}, "written"),  # occurs in the quote, but "118.00" is no nl number
    ("written not in quote", {"written": "ruim 119.000"}, "written"),
    ("quote not verbatim", {"quote": "De regio telt ruim 118.000 banen (stand: 2020)."}, "quote"),
    ("wrong line", {"location": "line 2, Titel"}, "location"),
    ("bad precision", {"precision": "about 10"}, "precision"),
    ("bad scale", {"scale": 0}, "scale"),
    ("interval misses value", {"interval": [119000, 120000]}, "interval"),
    ("assumed period for a stated year", {"assumed_period": "2019"}, "assumed_period"),
    ("assumed period not a year", {"period": "unknown", "assumed_period": "about 2019"}, "assumed_period"),
]


@pytest.mark.parametrize("case, change, field", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_entry_names_file_claim_and_field(root, case, change, field):
    entry = {k: v for k, v in (GOOD | change).items() if v is not None}
    path = write_claims(root / "bad.toml", [GOOD | {"id": "t-other"}, entry])
    with pytest.raises(ClaimsFileError) as e:
        load(path, documents_root=root)
    assert (e.value.file, e.value.field) == (str(path), field)
    assert "t-2020-jobs" in e.value.claim and "#2" in e.value.claim
    assert str(path) in str(e.value) and "t-2020-jobs" in str(e.value) and repr(field) in str(e.value)


def test_missing_id_is_named_by_position(root):
    entry = {k: v for k, v in GOOD.items() if k != "id"}
    path = write_claims(root / "bad.toml", [GOOD | {"id": "t-other"}, entry])
    with pytest.raises(ClaimsFileError) as e:
        load(path, documents_root=root)
    assert (e.value.claim, e.value.field) == ("#2", "id")


def test_duplicate_id_within_and_across_files(root):
    with pytest.raises(ClaimsFileError) as e:
        load(write_claims(root / "a.toml", [GOOD, GOOD]), documents_root=root)
    assert (e.value.field, e.value.claim) == ("id", "'t-2020-jobs' (#2)")
    a = write_claims(root / "a.toml", [GOOD])
    b = write_claims(root / "b.toml", [GOOD])
    with pytest.raises(ClaimsFileError) as e:
        load([a, b], documents_root=root)
    assert e.value.file == str(b) and "a.toml" in str(e.value)


@pytest.mark.parametrize("document, field", [
    ({"locale": "nl"}, "title"),
    ({"title": "T"}, "locale"),
    ({"title": "T", "locale": "de"}, "locale"),
    ({"title": "T", "locale": "nl", "published": "2021-13-01x"}, "published"),
    ({"title": "T", "locale": "nl", "author": "x"}, "author"),
])
def test_malformed_document_table(root, document, field):
    with pytest.raises(ClaimsFileError) as e:
        load(write_claims(root / "bad.toml", [GOOD], document), documents_root=root)
    assert (e.value.claim, e.value.field) == ("[document]", field)


def test_invalid_toml(root):
    path = root / "bad.toml"
    path.write_text("[document\n", encoding="utf-8")
    with pytest.raises(ClaimsFileError) as e:
        load(path, documents_root=root)
    assert e.value.field == "toml" and e.value.file == str(path)


def test_every_entry_check_names_a_field_of_the_format():
    """The checks are a table (field, check); a row for a field the format does not have would name a field
    no claims-file author can find."""
    from regiostat.reconcile.claims_file import _ENTRY_CHECKS, OPTIONAL, REQUIRED

    fields = [name for name, _ in _ENTRY_CHECKS]
    assert set(fields) <= set(REQUIRED) | set(OPTIONAL)
    assert fields.index("written") < fields.index("interval") < fields.index("quote")  # value first, then quote
