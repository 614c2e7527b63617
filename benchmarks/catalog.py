"""A SYNTHETIC 1,000-table configuration for the Definitions and sensor-tick measurement (issue 12 part 4).

config/tables.toml lists N made-up table ids (half v4, half v3); the landing zone holds one complete fetch
per table (manifest rows only: the sensor reads no file); the CBS catalogs (v4 Datasets, v3 Tables) list
those tables among ``others`` unrelated ones, with a tenth of the configured tables modified after their
last fetch. Ids, dates and titles are generated and say so; nothing here is CBS data.
"""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.project import make_project, shipped_tables
from regiostat.landing.zone import LandingZone

FETCHED = "2026-01-01T00:00:00"
CHANGED = "2026-02-01T00:00:00"


def table_ids(n: int) -> list[str]:
    return [f"{90000 + i}NED" for i in range(n)]


def tables_toml(n: int) -> str:
    """N SYNTHETIC tables, and the shipped tables listed but switched off: indicators name them, and the strict
    config refuses an indicator whose table is not configured."""
    blocks = [f'[[table]]\nid = "{t}"\ntitle = "SYNTHETIC table {i} (benchmark)"\napi = "{"v4" if i % 2 else "v3"}"\n'
              for i, t in enumerate(table_ids(n))]
    return ("# Benchmark only (benchmarks/catalog.py): SYNTHETIC table ids, not CBS tables.\n\n" + "\n".join(blocks)
            + "\n" + shipped_tables(set()))


def make(target: Path, n: int) -> tuple[Path, Path]:
    """(project folder, home) for N configured tables, each with one complete fetch in the landing zone."""
    project = make_project(target / "project", tables_toml(n))
    zone = LandingZone(target / "home" / "landing")
    for i, table in enumerate(table_ids(n)):
        source = "cbs_v4" if i % 2 else "cbs_v3_feed"
        modified = _modified(i, "v4" if i % 2 else "v3", fetched=True)
        # a complete fetch pins its files (regiostat.landing.zone): one small file each, which the sensor never reads
        zone.write(json.dumps({"Identifier": table, "Modified": modified}).encode(), source=source, table_id=table,
                   entity="Properties", origin=f"synthetic://{table}", fetch_id=f"synthetic-{table}",
                   media_type="application/json", table_modified=modified)
        zone.mark_complete(table, f"synthetic-{table}", source=source, origin=f"synthetic://{table}", rows=0,
                           table_modified=modified)
    return project.root, target / "home"


def catalogs(n: int, others: int) -> dict[str, bytes]:
    """Bodies of the v4 and v3 catalog for the N configured tables plus ``others`` unrelated ones."""
    v4, v3 = [], []
    for i, table in enumerate([*table_ids(n), *(f"{10000 + j}XXX" for j in range(others))]):
        api = "v4" if i % 2 else "v3"
        entry = {"Identifier": table.lower() if api == "v4" else table, "Modified": _modified(i, api, fetched=False),
                 "Title": f"SYNTHETIC catalog entry {i}"}
        (v4 if api == "v4" else v3).append(entry)
    return {"/odata/v1/CBS/Datasets": json.dumps({"value": v4}).encode(),
            "/ODataCatalog/Tables": json.dumps({"odata.metadata": "synthetic", "value": v3}).encode()}


def _modified(i: int, api: str, *, fetched: bool) -> str:
    stamp = FETCHED if fetched or i % 10 else CHANGED  # every tenth table changed since its last fetch
    return stamp + ("+01:00" if api == "v4" else "")
