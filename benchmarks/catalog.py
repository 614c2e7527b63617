"""A SYNTHETIC 1,000-table configuration for the Definitions and sensor-tick measurement (issue 12 part 4).

config/tables.toml lists N made-up table ids (half v4, half v3); the landing zone holds one complete fetch
per table (manifest rows only: the sensor reads no file); the CBS catalogs (v4 Datasets, v3 Tables) list
those tables among ``others`` unrelated ones, with a tenth of the configured tables modified after their
last fetch. :func:`landing_questions` times what the raw step asks the landing zone with a year of monthly fetches
of N tables. Ids, dates and titles are generated and say so; nothing here is CBS data.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from benchmarks.project import make_project, shipped_tables
from pipelines.timings import resident_mb
from regiostat.landing.zone import COMPLETE_ENTITY, LandingEntry, LandingZone, fetch_digest

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


def landing_questions(target: Path, n: int, fetches: int = 12, pages: int = 20) -> dict:
    """What the raw step asks the landing zone per table (its fetches in use, the rows of the newest), timed over N
    tables with a year of monthly fetches of ``pages`` pages each: a SYNTHETIC manifest, rows only (no files)."""
    lines = []
    for month in range(1, fetches + 1):
        for table in table_ids(n):
            fetch_id = f"2026{month:02d}01T000000Z-{table}"
            files = [LandingEntry(source="cbs_v3_feed", table_id=table, entity="TypedDataSet", page=page,
                                  origin=f"synthetic://{table}", fetched_at=f"2026-{month:02d}-01T00:00:00Z",
                                  sha256="0" * 64, path=f"files/{table}/{fetch_id}/TypedDataSet-p{page:05d}.json",
                                  media_type="application/json", fetch_id=fetch_id, rows=10_000)
                     for page in range(1, pages + 1)]
            done = LandingEntry(source="cbs_v3_feed", table_id=table, entity=COMPLETE_ENTITY, page=0,
                                origin=f"synthetic://{table}", fetched_at=files[0].fetched_at,
                                sha256=fetch_digest(files), path="", media_type="", fetch_id=fetch_id,
                                rows=10_000 * pages, files=pages)
            lines += [e.to_json() for e in (*files, done)]
    zone = LandingZone(target / "manifest-questions")
    zone.root.mkdir(parents=True, exist_ok=True)
    zone.manifest_path.write_text("\n".join(lines) + "\n")
    del lines
    held = resident_mb()
    started = time.perf_counter()
    zone.entries()
    read = time.perf_counter()
    held = resident_mb() - held
    for table in table_ids(n):
        newest = zone.usable_completes((table,))[-1]
        zone.rows_of_fetch(newest.fetch_id)
    asked = time.perf_counter()
    LandingZone(zone.root).entries()  # what the next step of the same run pays: the zone's index is shared
    again = time.perf_counter()
    return {"manifest_rows": len(zone.entries()), "manifest_read_s": round(read - started, 3),
            "manifest_held_mb": round(held), "questions_s": round(asked - read, 3),
            "another_zone_s": round(again - asked, 3)}

