"""Rebuild the bundled landing zone in data/bundled/landing from ../shared/data.

The bundled zone is what the main job reads by default (no network). Each file is copied
byte for byte; the manifest records where it came from (see data/bundled/PROVENANCE.md).
Run: uv run python scripts/build_bundled_landing.py [--shared ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from regiostat.landing.zone import LandingZone

REPO = Path(__file__).resolve().parents[1]
BUNDLE_DATE = "2026-11-23T00:00:00Z"  # when these files entered the bundle
V4 = "https://datasets.cbs.nl/odata/v1/CBS"


@dataclass(frozen=True)
class BundledFile:
    """One shared-data file, landed as one entity of a fetch."""

    rel: str  # under the shared data folder
    entity: str
    media_type: str = "text/csv"
    origin: str | None = None  # default: shared/data/<rel>
    compress: bool = False
    meta: Mapping[str, object] = field(default_factory=dict)  # manifest fields of this file only (rows, note, ...)


@dataclass(frozen=True)
class BundledFetch:
    """One fetch of the bundle: its files, and the manifest row that declares it complete."""

    table_id: str
    fetch_id: str
    source: str
    files: tuple[BundledFile, ...]
    complete_origin: str
    complete_rows: int | None
    vintage: str | None = None  # on the completion row
    common: Mapping[str, object] = field(default_factory=dict)  # manifest fields of every file


def _json(shared: Path, rel: str) -> dict:
    return json.loads((shared / rel).read_text())


def _one_file(table_id: str, fetch_id: str, source: str, rel: str, entity: str, *, complete_rows: int | None,
              rows: int | None = None, vintage: str | None = None, compress: bool = False,
              **meta: object) -> BundledFetch:
    """A fetch of a single shared-data CSV file."""
    file = BundledFile(rel, entity, compress=compress, meta={"rows": rows, "vintage": vintage, **meta})
    return BundledFetch(table_id, fetch_id, source, (file,), f"shared/data/{rel}", complete_rows, vintage)


def _population_v4(shared: Path) -> BundledFetch:
    """03759NED: a real v4 capture (population on 1 January, NL/PV/GM, 2019-2026)."""
    base = "api-samples/v4_datasets.cbs.nl/03759ned"
    index, props = _json(shared, f"{base}/index.json"), _json(shared, f"{base}/properties.json")
    entities = [("Properties", "properties"), ("Dimensions", "dimensions"), ("MeasureCodes", "measure-codes"),
                ("BurgerlijkeStaatCodes", "codes-BurgerlijkeStaat"), ("GeslachtCodes", "codes-Geslacht"),
                ("LeeftijdCodes", "codes-Leeftijd"), ("RegioSCodes", "codes-RegioS"),
                ("PeriodenCodes", "codes-Perioden")]
    files = [BundledFile(f"{base}/{name}.json", entity, "application/json", f"{V4}/03759ned/{entity}")
             for entity, name in entities]
    files.append(BundledFile(f"{base}/observations-page-1.json", "Observations", "application/json",
                             f"{V4}/03759ned/Observations?$filter={index['sliceFilter']}", compress=True,
                             meta={"rows": index["observationRows"]}))
    return BundledFetch("03759NED", "20260702T121102Z-03759NED", "cbs_v4", tuple(files), index["source"],
                        index["observationRows"], index["capturedAt"],
                        common={"vintage": index["capturedAt"], "table_modified": props["Modified"],
                                "table_version": props["Version"]})


def _jobs_by_sector_v3(shared: Path) -> BundledFetch:
    """83583NED: v3 national jobs by SBI and firm size, with its real DataProperties and code lists."""
    base = "api-samples/v3_statline_bq_tests"
    meta = _json(shared, f"{base}/83583NED_Metadata.json")
    via_parquet = "v3 response converted to parquet by dataverbinders/statline-bq (MIT), then to CSV"
    files = [BundledFile(f"{base}/83583NED_Metadata.json", "TableInfos", "application/json")]
    files += [BundledFile(f"{base}/83583NED_{entity}.csv", entity, meta={"note": via_parquet})
              for entity in ["DataProperties", "Perioden", "BedrijfstakkenBranchesSBI2008", "Bedrijfsgrootte"]]
    files.append(BundledFile("cbs/83583NED_TypedDataSet_2010-2019_national_from_parquet.csv", "TypedDataSet",
                             meta={"rows": 7440,
                                   "note": "v3 TypedDataSet via statline-bq parquet, converted to CSV with pyarrow"}))
    return BundledFetch("83583NED", "bundle-83583NED-statline-bq", "cbs_v3_api", tuple(files), "shared/data/" + base,
                        7440, meta.get("Updated"),
                        common={"vintage": meta.get("Updated"), "table_modified": meta.get("Modified")})


def _kwb_2020_v3(shared: Path) -> BundledFetch:
    """84799NED: Kerncijfers wijken en buurten 2020, the NL + municipality rows with their real DataProperties."""
    base = "api-samples/v3_statline_bq_tests"
    meta = _json(shared, f"{base}/84799NED_Metadata.json")
    via_parquet = "v3 response converted to parquet by dataverbinders/statline-bq (MIT), then to CSV"
    files = (BundledFile(f"{base}/84799NED_Metadata.json", "TableInfos", "application/json"),
             BundledFile(f"{base}/84799NED_DataProperties.csv", "DataProperties", compress=True,
                         meta={"note": via_parquet}),
             BundledFile(f"{base}/84799NED_TypedDataSet_GM_NL_rows_only.csv", "TypedDataSet", compress=True,
                         meta={"rows": 356, "note": via_parquet + "; cut down to the NL00 row and the 355 GM rows"}))
    return BundledFetch("84799NED", "bundle-84799NED-statline-bq", "cbs_v3_api", files, "shared/data/" + base, 356,
                        meta.get("Updated"),
                        common={"vintage": meta.get("Updated"), "table_modified": meta.get("Modified")})


def _establishments_per_municipality(shared: Path) -> BundledFetch:
    """81575NED: establishments per municipality, 2026, as a website's build script reshaped the v4 response."""
    rel = "cbs/81575NED_vestigingen_T001081_2026JJ00_per_gemeente_processed.json"
    doc = _json(shared, rel)
    file = BundledFile(rel, "per_gemeente", "application/json", meta={
        "rows": doc["gemeenten_met_waarde"], "vintage": doc["bron_datum"],
        "note": "processed by a third party (github MounirVB/vibe-website 6b47dc93, data/bewijs/vestigingen.json) from "
                "the v4 call in its bron_url; keys are municipality codes without GM"})
    return BundledFetch("81575NED", "bundle-81575NED-per-gemeente", "derived_json", (file,), doc["bron_url"],
                        doc["gemeenten_met_waarde"], doc["bron_datum"])


def bundle(shared: Path) -> list[BundledFetch]:
    """Every fetch of the bundled landing zone, in manifest order."""
    return [
        _population_v4(shared),
        # 83582NED: the whole v3 TypedDataSet export at COROP level (CR01-CR40 + CR99, 2010-2024), keys padded as
        # received; it replaced the CR07-CR10 extract (same rows for those four regions).
        _one_file("83582NED", "bundle-83582NED-corop", "cbs_v3_feed",
                  "cbs/83582NED_TypedDataSet_COROP_2010-2024.csv", "TypedDataSet", rows=17220,
                  complete_rows=17220, compress=True,
                  note="raw v3 TypedDataSet export, copied whole (github Jpmartinslag/neural-temporal-relational-"
                       "model c485364b); all 40 COROP regions and CR99 Extra-Regio; no DataProperties or Perioden in "
                       "the capture"),
        _jobs_by_sector_v3(shared),
        # 70072NED: two StatLine CSV downloads of different table versions; the file name holds the download time.
        *[_one_file("70072NED", f"bundle-70072NED-{vintage[:10]}", "statline_csv", rel, "UntypedDataSet", rows=rows,
                    complete_rows=rows, vintage=vintage, compress=True,
                    note="StatLine CSV download (UntypedDataSet), copied from a public GitHub repository")
          for rel, vintage, rows in [
              ("cbs/70072ned_UntypedDataSet_06062018_000805_2015_allregions.csv", "2018-06-06T00:08:05", 770),
              ("cbs/70072ned_UntypedDataSet_29122019_191739.csv", "2019-12-29T19:17:39", 300)]],
        # 03759NED: the StatLine metadata download (TableInfos, DataProperties, every RegioS code with its title).
        _one_file("03759NED", "bundle-03759NED-statline-metadata", "statline_csv",
                  "api-samples/v3_statline_csv_exports/03759ned_metadata.csv", "metadata", complete_rows=0,
                  vintage="2019-05-17T02:00:00", compress=True, table_modified="2019-05-17T02:00:00",
                  note="StatLine metadata download, no data rows"),
        # 81578NED: establishments per COROP, already reshaped by a third party (processed).
        _one_file("81578NED", "bundle-81578NED-stock-panel", "derived_csv",
                  "cbs/81578NED_vestigingen_total_COROP_CR07-CR16_2015-2025_processed.csv", "stock_panel", rows=110,
                  complete_rows=110,
                  note="processed by a third party (zone_id, target_year, stock = all-SBI establishments on "
                       "1 January)"),
        _kwb_2020_v3(shared),
        _establishments_per_municipality(shared),
        # 2024 municipality -> COROP list (CBS "Gebieden in Nederland 2024", processed by woonstadrotterdam, MIT).
        _one_file("GEBIEDEN2024", "bundle-GEBIEDEN2024-corop", "region_crosswalk",
                  "regions/woonplaats_gemeente_corop_2024_woningwaardering.csv", "gemeente_corop",
                  complete_rows=None, vintage="2024-11-13", compress=True,
                  note="processed copy of CBS Gebieden/Woonplaatsen in Nederland 2024 (woonstadrotterdam/"
                       "woningwaardering, MIT, commit 39a16cb9); codes without GM/CR prefix"),
    ]


def build(shared: Path, target: Path) -> LandingZone:
    """A fresh landing zone at `target` holding every bundled fetch, copied byte for byte from `shared`."""
    if target.exists():
        shutil.rmtree(target)
    zone = LandingZone(target)
    for fetch in bundle(shared):
        for f in fetch.files:
            zone.write((shared / f.rel).read_bytes(), fetch_id=fetch.fetch_id, fetched_at=BUNDLE_DATE,
                       source=fetch.source, table_id=fetch.table_id, entity=f.entity, media_type=f.media_type,
                       origin=f.origin or f"shared/data/{f.rel}", compress=f.compress, **fetch.common, **f.meta)
        zone.mark_complete(fetch.table_id, fetch.fetch_id, source=fetch.source, origin=fetch.complete_origin,
                           rows=fetch.complete_rows, fetched_at=BUNDLE_DATE, vintage=fetch.vintage)
    return zone


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--target", type=Path, default=REPO / "data" / "bundled" / "landing")
    args = parser.parse_args()
    zone = build(args.shared, args.target)
    print(f"bundled landing zone: {len(zone.entries())} manifest rows in {args.target}")


if __name__ == "__main__":
    main()
