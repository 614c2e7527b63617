"""The profile site written from a real published warehouse, checked without a browser: layout, relative
links, the vendored JavaScript, sections that appear exactly when their table does, and the CLI.

The browser checks (rendering, requests, key figures as shown) are in test_report_browser.py.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import site as site_module
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import main
from regiostat.paths import ProjectPaths
from regiostat.report import write_site
from regiostat.report.geo import ATTRIBUTION, best_boundaries, load_boundaries
from regiostat.report.labels import format_plain, format_value
from regiostat.report.render import inline_json
from regiostat.report.site import VENDOR_FILES
from tests.conftest import PUBLISHED, REPO

REGIONS = ["dutch_techzone", "CR08", "GM0014", "GM0114"]
VENDOR = REPO / "regiostat" / "report" / "static" / "vendor"
URL_ATTRIBUTES = re.compile(r'\b(?:src|href)="([^"]*)"')


@pytest.fixture
def warehouse(built_home: Path, tmp_path: Path) -> Path:
    """A copy of the session's published warehouse, safe to alter."""
    target = tmp_path / "regional.duckdb"
    shutil.copy2(built_home / PUBLISHED, target)
    return target


def _alter(path: Path, *statements: str) -> None:
    con = duckdb.connect(str(path))
    try:
        for sql in statements:
            con.execute(sql)
    finally:
        con.close()


def _page(site: Path, code: str) -> str:
    return (site / "regions" / f"{code}.html").read_text(encoding="utf-8")


def test_site_holds_an_index_a_page_per_region_and_the_javascript_once(built_home, tmp_path):
    summary = write_site(built_home / PUBLISHED, tmp_path / "site", regions=REGIONS)

    site = tmp_path / "site"
    assert summary.pages == len(REGIONS) and summary.regions == tuple(REGIONS)
    assert sorted(p.name for p in (site / "regions").iterdir()) == sorted(f"{c}.html" for c in REGIONS)
    index = (site / "index.html").read_text(encoding="utf-8")
    assert all(f'href="regions/{c}.html"' in index for c in REGIONS)
    assert [p.relative_to(site).as_posix() for p in site.rglob("vega.min.js")] == ["static/vendor/vega.min.js"]
    assert summary.bytes == sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    for code in REGIONS:
        page = _page(site, code)
        assert '<script src="../static/vendor/vega.min.js"></script>' in page
        assert "vega@" not in page and "cdn" not in page.lower()


def test_every_link_and_script_is_relative_so_pages_open_from_disk_and_any_server(built_home, tmp_path):
    write_site(built_home / PUBLISHED, tmp_path / "site", regions=REGIONS)

    site = tmp_path / "site"
    for html in site.rglob("*.html"):
        for url in URL_ATTRIBUTES.findall(html.read_text(encoding="utf-8")):
            assert not re.match(r"^[a-z]+:|^/", url) or url == "data:,", (html.name, url)
            if not url.startswith("data:"):
                assert (html.parent / url).resolve().is_file(), (html.name, url)


def test_vendored_files_match_the_hashes_vendored_md_records():
    record = (VENDOR / "VENDORED.md").read_text(encoding="utf-8")
    listed = dict(re.findall(r"\| `([\w.-]+\.js)` \|.*?\| `([0-9a-f]{64})` \|", record))
    assert sorted(listed) == ["vega-embed.min.js", "vega-lite.min.js", "vega.min.js"]
    for name, digest in listed.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    assert all((VENDOR / name).is_file() for name in VENDOR_FILES)


def test_pages_carry_the_source_lines_and_the_map_attribution(built_home, tmp_path):
    write_site(built_home / PUBLISHED, tmp_path / "site", regions=REGIONS)

    techzone = _page(tmp_path / "site", "dutch_techzone")
    assert "Bron: LISA 2017" in techzone and "Bron: CBS, 03759NED" in techzone and "CC BY 4.0" in techzone
    assert ATTRIBUTION in techzone and 'id="chart-map"' in techzone
    cr08 = _page(tmp_path / "site", "CR08")
    assert "Bron: CBS, 83582NED" in cr08 and 'id="chart-jobs-by-sector"' in cr08


def test_harmonised_series_and_claims_appear_only_where_the_warehouse_has_them(warehouse, tmp_path):
    write_site(warehouse, tmp_path / "with", regions=REGIONS)
    _alter(warehouse, "DROP TABLE marts.municipal_series_harmonised", "DROP TABLE reconcile.verdicts",
           "DROP TABLE marts.jobs_by_sector_region_year")
    write_site(warehouse, tmp_path / "without", regions=REGIONS)

    with_them, without = tmp_path / "with", tmp_path / "without"
    assert 'id="chart-harmonised-population-2019"' in _page(with_them, "GM0014")  # Haren and Ten Boer merged in
    assert "omgerekend / converted" in _page(with_them, "GM0014")
    assert "harmonised" not in _page(without, "GM0014")
    assert 'id="claims"' in _page(with_them, "dutch_techzone") and 'data-verdict="contradicted"' in _page(
        with_them, "dutch_techzone")
    assert 'id="claims"' not in _page(without, "dutch_techzone")
    assert "Jobs by SBI section" in _page(with_them, "CR08")
    assert "Jobs by SBI section" not in _page(without, "CR08")
    assert "Jobs by sector" in _page(without, "CR08")  # the profile's broad sectors stand in
    assert 'id="chart-map"' in _page(without, "CR08")


def test_closest_real_figure_is_shown_once_verdicts_carry_it(warehouse, tmp_path):
    """reconcile.verdicts carries the closest real figure (closest_* and difference columns); a warehouse
    from before it did still gives pages, without that field."""
    write_site(warehouse, tmp_path / "with", regions=["dutch_techzone"])
    columns = ("closest_value", "closest_indicator", "closest_regions", "closest_period", "closest_table",
               "closest_definition", "difference")
    _alter(warehouse, *(f"ALTER TABLE reconcile.verdicts DROP COLUMN {c}" for c in columns))
    write_site(warehouse, tmp_path / "without", regions=["dutch_techzone"])

    assert "Closest real figure" not in _page(tmp_path / "without", "dutch_techzone")
    with_it = _page(tmp_path / "with", "dutch_techzone")
    assert "Closest real figure" in with_it
    assert "112.390 lisa_jobs — GM0109, GM0114, GM0118, GM0160, 2017 (LISA lisa_gemeente_2017" in with_it
    assert "Verschil / Difference: same definition" in with_it and "closest_value:" not in with_it


def test_a_warehouse_without_optional_tables_still_gives_pages(warehouse, tmp_path):
    _alter(warehouse, *(f"DROP TABLE {t}" for t in (
        "reconcile.verdicts", "reconcile.decisions", "marts.municipal_series_harmonised", "core.region_parent",
        "core.custom_region", "core.dim_indicator", "core.dim_source_table")),
        "DROP VIEW marts.regional_profile_wide", "DROP VIEW staging.lisa_observations", "DROP TABLE meta.build_info")

    summary = write_site(warehouse, tmp_path / "site", regions=["CR08", "dutch_techzone"])

    assert summary.pages == 2
    page = _page(tmp_path / "site", "dutch_techzone")
    assert 'class="key-figure"' in page and "Bron: LISA 2017" in page  # the attribution rides on the fact rows
    assert 'id="chart-map"' not in page  # without the hierarchy nobody knows its municipalities


def test_unknown_region_missing_warehouse_and_foreign_folder_are_refused(built_home, tmp_path):
    with pytest.raises(ValueError, match="XX99"):
        write_site(built_home / PUBLISHED, tmp_path / "site", regions=["CR08", "XX99"])
    with pytest.raises(FileNotFoundError):
        write_site(tmp_path / "nothing.duckdb", tmp_path / "site")
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not a site"):
        write_site(built_home / PUBLISHED, foreign, regions=["CR08"])
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_a_new_run_replaces_the_previous_site_whole(built_home, tmp_path):
    site = tmp_path / "site"
    write_site(built_home / PUBLISHED, site, regions=["CR08", "GM0114"])
    write_site(built_home / PUBLISHED, site, regions=["CR08"])

    assert [p.name for p in (site / "regions").iterdir()] == ["CR08.html"]
    assert not list(tmp_path.glob(".site.*"))  # no staging or old copy left behind


def test_cli_report_writes_the_site_and_names_problems_in_one_line(built_home, tmp_path, capsys):
    out = tmp_path / "site"
    assert main(["--home", str(built_home), "report", "--region", "CR08", "--region", "GM0114",
                 "--out", str(out)]) == 0
    assert "wrote 2 region pages" in capsys.readouterr().out
    assert (out / "regions" / "CR08.html").is_file() and (out / "index.html").is_file()

    assert main(["--home", str(built_home), "report", "--region", "XX99", "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip() == "report: not in marts.regional_profile: XX99"
    assert main(["--home", str(tmp_path / "empty"), "report", "--out", str(out)]) == 2
    assert "no published warehouse" in capsys.readouterr().err


def test_boundary_choice_prefers_the_file_holding_most_municipalities():
    files = load_boundaries(ProjectPaths.default().geo_dir)

    assert [f.name for f in files] == ["gemeente_2024", "gemeente_2016"]
    assert best_boundaries(files, ["GM0114", "GM0109"]).name == "gemeente_2024"  # in both: the newer
    assert best_boundaries(files, ["GM0017", "GM0009", "GM0014"]).name == "gemeente_2016"  # Haren, Ten Boer
    assert best_boundaries(files, ["GM0241"]) is None  # Groesbeek, gone on 1 January 2016


def test_dutch_number_formatting():
    assert format_value(118000.0, "jobs") == "118.000"
    assert format_value(13.826366559485532, "%") == "13,8%"
    assert format_value(5.6195, "jobs per establishment") == "5,62"
    assert format_value(None, "jobs") == "—"
    assert format_plain(17.73) == "17,73" and format_plain(16.5) == "16,5" and format_plain(1030.0) == "1.030"


def test_inline_json_cannot_end_its_script_element():
    text = inline_json({"quote": "</script><script>alert(1)</script>", "gap": float("inf")})
    assert "<" not in text and ">" not in text and '"gap":null' in text


def test_installed_wheel_carries_boundaries_and_javascript_and_writes_the_site(built_home, tmp_path):
    """The wheel, installed outside the checkout, finds its shipped boundaries and vendored JavaScript."""
    uv = shutil.which("uv")
    assert uv, "uv is on PATH wherever the suite runs (.ci/run installs it)"
    dist = tmp_path / "dist"
    subprocess.run([uv, "build", "--wheel", "--out-dir", str(dist), str(REPO)], check=True, capture_output=True)
    wheel = next(dist.glob("regiostat-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"regiostat/_shipped/data/geo/gemeente_2024.topojson", "regiostat/_shipped/data/geo/PROVENANCE.md",
            "regiostat/report/static/vendor/vega.min.js", "regiostat/report/static/site.js"} <= names
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([uv, "pip", "install", "--offline", "--no-deps", "--python", str(python), str(wheel)],
                   check=True, capture_output=True)
    target = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 check=True, capture_output=True, text=True).stdout.strip())
    (target / "zz_regiostat_test_dependencies.pth").write_text("\n".join(site_module.getsitepackages()) + "\n")
    work = tmp_path / "elsewhere"
    shutil.copytree(built_home / "warehouse", work / "warehouse")
    run = subprocess.run([venv / "bin" / "regiostat", "report", "--region", "CR08", "--out", "site"], cwd=work,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert (work / "site" / "static" / "geo" / "gemeente_2024.js").is_file()
    assert (work / "site" / "static" / "vendor" / "vega.min.js").read_bytes() == (VENDOR / "vega.min.js").read_bytes()
