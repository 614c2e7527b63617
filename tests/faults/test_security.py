"""Hostile input: SQL built from names and values, landing paths, the webserver's bind address, secrets.

Three tests here first failed (a manifest path leaving the landing root, credentials in a CBS base
URL reaching the manifest); they pin the fixes in regiostat/landing.py and regiostat/cbs_client.py.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from regiostat import warehouse
from regiostat.landing.zone import COMPLETE_ENTITY, LandingEntry, LandingError, LandingZone
from regiostat.sources.cbs.client import CbsClient, CbsEndpoints, CbsFetchError
from regiostat.sources.cbs.fetch import fetch_v4_table
from tests.cbs_http_server import V4, Fault
from tests.conftest import REPO

DROP_FACTS = 'x"; DROP TABLE core.fact_observation; --'
HOSTILE_LABEL = "'s-Hertogenbosch \"Den Bosch\"; DROP TABLE core.fact_observation; --'); DELETE FROM core.dim_region; --"
HOSTILE_CODE = "GM9999'; DELETE FROM core.dim_region WHERE '1'='1"


@pytest.fixture
def build_con(built_home: Path, tmp_path: Path):
    """A writable copy of a real build database (every table filled by the session's run)."""
    path = tmp_path / "build.duckdb"
    shutil.copyfile(built_home / "build" / "regional_build.duckdb", path)
    con = duckdb.connect(str(path))
    yield con
    con.close()


def _tables(con) -> dict[str, int]:
    names = con.execute("SELECT table_schema, table_name FROM information_schema.tables "
                        "WHERE table_schema IN ('core', 'marts', 'meta')").fetchall()
    return {f"{s}.{t}": warehouse.row_count(con, f"{s}.{t}") for s, t in names}


def test_hostile_table_and_column_names_are_quoted_never_executed(build_con, fault_ledger):
    before = _tables(build_con)
    frame = warehouse.read_table(build_con, "core.dim_region").head(1)
    attempts = {
        "read_table(table=...)": lambda: warehouse.read_table(build_con, f"core.{DROP_FACTS}"),
        "replace_rows(table=...)": lambda: warehouse.replace_rows(build_con, f"core.{DROP_FACTS}", frame),
        "row_count(table=...)": lambda: warehouse.row_count(build_con, 'core"; DROP TABLE core.dim_region; --.x'),
        "read_table(where column)": lambda: warehouse.read_table(
            build_con, "core.dim_region", where={f"region_code\" = 'x' OR 1=1; {DROP_FACTS}": "x"}),
        "replace_rows(where column)": lambda: warehouse.replace_rows(
            build_con, "core.dim_region", frame, where={'region_code" IS NOT NULL OR "region_code': "x"}),
    }
    for what, attempt in attempts.items():
        with pytest.raises(duckdb.Error, match="Catalog Error|Binder Error"):
            attempt()
        assert _tables(build_con) == before, f"{what} changed the database"
        fault_ledger.record(fault=f"SQL injection via identifier: {what}", outcome="refused")

    # and a table really named like an attack is just a table: created, filled, read, counted
    name = f"core.{DROP_FACTS}"
    build_con.execute(f"CREATE TABLE {warehouse.qualified(name)} (label VARCHAR)")
    assert warehouse.replace_rows(build_con, name, pl.DataFrame({"label": [HOSTILE_LABEL]})) == 1
    assert warehouse.read_table(build_con, name)["label"].to_list() == [HOSTILE_LABEL]
    assert warehouse.row_count(build_con, name) == 1
    assert build_con.execute("SELECT table_name FROM information_schema.tables WHERE table_name = ?",
                             [DROP_FACTS]).fetchall() == [(DROP_FACTS,)]
    assert {k: v for k, v in _tables(build_con).items() if k != name} == before
    assert warehouse.quote_ident('a"b') == '"a""b"'


def test_hostile_values_round_trip_and_only_match_themselves(build_con, fault_ledger):
    before = _tables(build_con)
    row = warehouse.read_table(build_con, "core.dim_region").head(1).with_columns(
        pl.lit(HOSTILE_CODE).alias("region_code"), pl.lit(HOSTILE_LABEL).alias("region_name"))

    for _ in range(2):  # idempotent: the second replace deletes exactly the row the first inserted
        warehouse.replace_rows(build_con, "core.dim_region", row, where={"region_code": HOSTILE_CODE})
    back = warehouse.read_table(build_con, "core.dim_region", where={"region_name": HOSTILE_LABEL})
    assert back["region_code"].to_list() == [HOSTILE_CODE] and back["region_name"].to_list() == [HOSTILE_LABEL]
    assert warehouse.read_table(build_con, "core.dim_region", where={"region_code": "x' OR '1'='1"}).height == 0

    after = _tables(build_con)
    assert after.pop("core.dim_region") == before.pop("core.dim_region") + 1 and after == before
    # a hostile value in a delete condition deletes nothing (no region has that code)
    regions = warehouse.row_count(build_con, "core.dim_region")
    warehouse.replace_rows(build_con, "core.dim_region", row.clear(), where={"region_code": "x' OR '1'='1"})
    assert warehouse.row_count(build_con, "core.dim_region") == regions
    fault_ledger.record(fault="SQL injection via values (region label/code with quotes and ;)", outcome="survived",
                        detail="parameters: stored and read back verbatim, matched only themselves")


# -- landing paths -----------------------------------------------------------------------------


def _hostile_bundle(tmp_path: Path, rel: str, secret: Path) -> tuple[LandingZone, str]:
    """A landing zone (say, a bundle someone sent) whose manifest points outside its root."""
    other = LandingZone(tmp_path / "bundle" / "landing")
    other.root.mkdir(parents=True)
    content = secret.read_bytes()
    row = LandingEntry(source="cbs_v4", table_id="84826NED", entity="Observations", page=1, origin="x",
                       fetched_at="2026-01-01T00:00:00Z", sha256=hashlib.sha256(content).hexdigest(), path=rel,
                       media_type="application/json", fetch_id="20260101T000000Z-84826NED")
    done = LandingEntry(source="cbs_v4", table_id="84826NED", entity=COMPLETE_ENTITY, page=0, origin="x",
                        fetched_at="2026-01-01T00:00:00Z", sha256="", path="", media_type="",
                        fetch_id=row.fetch_id, rows=0)
    other.manifest_path.write_text(row.to_json() + "\n" + done.to_json() + "\n")
    return other, row.fetch_id


@pytest.mark.parametrize("style", ["relative", "absolute"])
def test_import_fetch_refuses_a_manifest_path_outside_the_landing_root(tmp_path, style, fault_ledger):
    secret = tmp_path / "bundle" / "not-landing-data.json"  # outside the bundle's landing root
    secret.parent.mkdir(parents=True)
    secret.write_bytes(b'{"value": ["private"]}')
    rel = "../not-landing-data.json" if style == "relative" else str(secret)
    other, fetch_id = _hostile_bundle(tmp_path, rel, secret)
    zone = LandingZone(tmp_path / "mine" / "deep" / "landing")
    escaped_to = (zone.root / rel).resolve()

    refused = True
    try:
        zone.import_fetch(other, fetch_id)
        refused = False
    except LandingError:
        pass
    outside = [p for p in tmp_path.joinpath("mine").rglob("*") if p.is_file() and zone.root not in p.parents]
    fault_ledger.record(fault=f"landing import, manifest path escaping the root ({style})",
                        outcome="refused" if refused and not outside else "NOT HANDLED",
                        detail="" if refused else f"read {secret.relative_to(tmp_path)} (outside the bundle's root), "
                                                  f"wrote {escaped_to.relative_to(tmp_path)}")
    assert refused and not outside


def test_reading_a_tampered_manifest_never_leaves_the_landing_root(tmp_path, fault_ledger):
    secret = tmp_path / "outside.json"
    secret.write_bytes(b'{"value": ["private"]}')
    zone, fetch_id = _hostile_bundle(tmp_path, "../../outside.json", secret)

    try:  # what the raw step would read: refused when the fetch is checked, before any file is opened
        (entry,) = zone.latest_complete_fetch("84826NED")
        data = zone.read_bytes(entry)
    except LandingError:
        data = None
    fault_ledger.record(fault="tampered manifest row pointing outside the landing root",
                        outcome="refused" if data is None else "NOT HANDLED",
                        detail="" if data is None else "read_bytes returned the outside file")
    assert data is None


def test_landing_write_paths_stay_inside_the_root(tmp_path, fault_ledger):
    """What landing.write builds from table id, fetch id and file name (safe_part itself: tests/test_landing.py)."""
    zone = LandingZone(tmp_path / "landing")
    for field, value in [("table_id", "../../etc"), ("fetch_id", "/abs"), ("filename", "..%2F..%2Fx"),
                         ("entity", "../Observations"), ("filename", "x\\..\\..\\y")]:
        args = dict(source="cbs_v4", table_id="84826NED", entity="Observations", origin="x", fetch_id="f1",
                    media_type="application/json")
        args[field] = value
        try:
            entry = zone.write(b"{}", **args)
        except LandingError:
            continue
        target = (zone.root / entry.path).resolve()
        assert zone.root.resolve() in target.parents, f"{field}={value!r} landed at {target}"
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and zone.root not in p.parents]
    fault_ledger.record(fault="hostile table id / fetch id / file name / entity on landing.write", outcome="refused")


# -- the Dagster webserver binds loopback by default --------------------------------------------


def test_dagster_webserver_binds_localhost_by_default(fault_ledger):
    from click.testing import CliRunner
    from dagster._cli import dev as dagster_dev
    from dagster_dg_cli.cli import dev as dg_dev
    from dagster_webserver.cli import DEFAULT_WEBSERVER_HOST
    from dagster_webserver.cli import cli as webserver_cli

    host = next(p for p in webserver_cli.params if p.name == "host")
    assert DEFAULT_WEBSERVER_HOST == host.default == "127.0.0.1"
    help_text = CliRunner().invoke(webserver_cli, ["--help"], env={"DAGSTER_WEBSERVER_HOST": None}).output
    assert "127.0.0.1" in help_text
    # `dagster dev` and `dg dev` have no host default of their own and pass --host only when given,
    # so the webserver's 127.0.0.1 applies (README: http://127.0.0.1:3000)
    for command in (dagster_dev.dev_command, dg_dev.dev_command):
        option = next(p for p in command.params if p.name == "host")
        assert not isinstance(option.default, str) and not option.required, option.default
    assert '(["--host", host] if host else [])' in inspect.getsource(dagster_dev.dev_command_impl)
    # nothing in the project or this environment overrides it (click reads DAGSTER_WEBSERVER_HOST)
    for name in (".env", "workspace.yaml", "pyproject.toml", "dagster.yaml"):
        path = REPO / name
        assert not path.exists() or "0.0.0.0" not in path.read_text() and "WEBSERVER_HOST" not in path.read_text()
    assert os.environ.get("DAGSTER_WEBSERVER_HOST", "127.0.0.1") in ("127.0.0.1", "localhost", "::1")
    fault_ledger.record(fault="webserver exposed beyond loopback by default?", outcome="refused",
                        detail="default host 127.0.0.1")


# -- secrets -------------------------------------------------------------------------------------


def test_settings_have_no_secret_fields_and_read_only_documented_variables(fault_ledger):
    """Nothing in the settings holds a credential today; a new one must come with redaction (and a test)."""
    from pipelines import resources

    secretish = [name for name in resources.RegiostatSettings.model_fields
                 if any(word in name.lower() for word in ("token", "secret", "password", "passwd", "apikey",
                                                          "api_key", "auth", "credential"))]
    assert secretish == [], f"settings fields that look like credentials: {secretish}: redact them in logs"
    fault_ledger.record(fault="credential-bearing settings fields", outcome="refused", detail="none exist")


def test_credentials_in_a_cbs_base_url_never_reach_the_manifest_or_error_messages(tmp_path, cbs_server_factory,
                                                                                  sleeps, fault_ledger):
    secret = "s3cret-token-4f9a"
    server = cbs_server_factory(v4_pages=3)
    host = server.base_url.removeprefix("http://")
    client = CbsClient(CbsEndpoints.under(f"http://regiostat:{secret}@{host}"), timeout=(2.0, 5.0), max_retries=1,
                       jitter=0.0, sleep=sleeps.append)
    zone = LandingZone(tmp_path / "landing")
    fetch_v4_table(client, zone, "03759NED")  # works: requests sends the userinfo as basic auth
    server.always(f"{V4}/03759NED/Properties", Fault.http(500))
    with pytest.raises(CbsFetchError) as err:
        fetch_v4_table(client, zone, "03759NED")

    leaks = [where for where, text in (("landing manifest", zone.manifest_path.read_text()),
                                       ("error message", str(err.value)),
                                       ("error url", err.value.url)) if secret in text]
    fault_ledger.record(fault="credential in a CBS base URL", outcome="NOT HANDLED" if leaks else "refused",
                        detail=f"appears in: {', '.join(leaks)}" if leaks else "")
    assert leaks == []
