"""Rebuild the bundled landing zone in data/bundled/landing from ../shared/data.

The bundled zone is what the main job reads by default (no network). Each file is copied
byte for byte; the manifest records where it came from (see data/bundled/PROVENANCE.md).
Run: uv run python scripts/build_bundled_landing.py [--shared ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from regiostat.landing.zone import LandingZone

REPO = Path(__file__).resolve().parents[1]
BUNDLE_DATE = "2026-11-23T00:00:00Z"  # when these files entered the bundle
V4 = "https://datasets.cbs.nl/odata/v1/CBS"


def _land(zone: LandingZone, shared: Path, rel: str, *, fetch_id: str, compress: bool = False, **meta) -> None:
    content = (shared / rel).read_bytes()
    zone.write(content, fetch_id=fetch_id, fetched_at=BUNDLE_DATE, compress=compress, **meta)


def build(shared: Path, target: Path) -> LandingZone:
    if target.exists():
        shutil.rmtree(target)
    zone = LandingZone(target)

    # 03759NED: a real v4 capture (population on 1 January, NL/PV/GM, 2019-2026).
    base = "api-samples/v4_datasets.cbs.nl/03759ned"
    index = json.loads((shared / base / "index.json").read_text())
    props = json.loads((shared / base / "properties.json").read_text())
    fid = "20260702T121102Z-03759NED"
    common = dict(source="cbs_v4", table_id="03759NED", media_type="application/json",
                  vintage=index["capturedAt"], table_modified=props["Modified"], table_version=props["Version"])
    for entity, name in [("Properties", "properties"), ("Dimensions", "dimensions"), ("MeasureCodes", "measure-codes"),
                         ("BurgerlijkeStaatCodes", "codes-BurgerlijkeStaat"), ("GeslachtCodes", "codes-Geslacht"),
                         ("LeeftijdCodes", "codes-Leeftijd"), ("RegioSCodes", "codes-RegioS"),
                         ("PeriodenCodes", "codes-Perioden")]:
        _land(zone, shared, f"{base}/{name}.json", fetch_id=fid, entity=entity, origin=f"{V4}/03759ned/{entity}",
              **common)
    _land(zone, shared, f"{base}/observations-page-1.json", fetch_id=fid, entity="Observations", compress=True,
          origin=f"{V4}/03759ned/Observations?$filter={index['sliceFilter']}", rows=index["observationRows"], **common)
    zone.mark_complete("03759NED", fid, source="cbs_v4", origin=index["source"], rows=index["observationRows"],
                       fetched_at=BUNDLE_DATE, vintage=index["capturedAt"])

    # 83582NED: v3 TypedDataSet rows (COROP CR07-CR10, 2010-2024), transcribed extract, keys padded as received.
    fid = "bundle-83582NED-cr07-cr10"
    rel = "cbs/83582NED_TypedDataSet_CR07-CR10_2010-2024_extract.csv"
    _land(zone, shared, rel, fetch_id=fid, source="cbs_v3_feed", table_id="83582NED", entity="TypedDataSet",
          media_type="text/csv", origin=f"shared/data/{rel}", rows=1680,
          note="transcribed extract of a v3 TypedDataSet export (github Jpmartinslag/neural-temporal-relational-model"
               " c485364b); CR07-CR10 only; no DataProperties or Perioden in the capture")
    zone.mark_complete("83582NED", fid, source="cbs_v3_feed", origin=f"shared/data/{rel}", rows=1680,
                       fetched_at=BUNDLE_DATE)

    # 83583NED: v3 national jobs by SBI and firm size, with its real DataProperties and code lists.
    fid = "bundle-83583NED-statline-bq"
    base = "api-samples/v3_statline_bq_tests"
    meta = json.loads((shared / base / "83583NED_Metadata.json").read_text())
    common = dict(source="cbs_v3_api", table_id="83583NED", vintage=meta.get("Updated"),
                  table_modified=meta.get("Modified"))
    _land(zone, shared, f"{base}/83583NED_Metadata.json", fetch_id=fid, entity="TableInfos",
          media_type="application/json", origin=f"shared/data/{base}/83583NED_Metadata.json", **common)
    for entity in ["DataProperties", "Perioden", "BedrijfstakkenBranchesSBI2008", "Bedrijfsgrootte"]:
        rel = f"{base}/83583NED_{entity}.csv"
        _land(zone, shared, rel, fetch_id=fid, entity=entity, media_type="text/csv", origin=f"shared/data/{rel}",
              note="v3 response converted to parquet by dataverbinders/statline-bq (MIT), then to CSV", **common)
    rel = "cbs/83583NED_TypedDataSet_2010-2019_national_from_parquet.csv"
    _land(zone, shared, rel, fetch_id=fid, entity="TypedDataSet", media_type="text/csv", origin=f"shared/data/{rel}",
          rows=7440, note="v3 TypedDataSet via statline-bq parquet, converted to CSV with pyarrow", **common)
    zone.mark_complete("83583NED", fid, source="cbs_v3_api", origin="shared/data/" + base, rows=7440,
                       fetched_at=BUNDLE_DATE, vintage=meta.get("Updated"))

    # 70072NED: two StatLine CSV downloads of different table versions; the file name holds the download time.
    for rel, vintage, rows in [
        ("cbs/70072ned_UntypedDataSet_06062018_000805_2015_allregions.csv", "2018-06-06T00:08:05", 770),
        ("cbs/70072ned_UntypedDataSet_29122019_191739.csv", "2019-12-29T19:17:39", 300),
    ]:
        fid = f"bundle-70072NED-{vintage[:10]}"
        _land(zone, shared, rel, fetch_id=fid, source="statline_csv", table_id="70072NED", entity="UntypedDataSet",
              media_type="text/csv", origin=f"shared/data/{rel}", rows=rows, vintage=vintage, compress=True,
              note="StatLine CSV download (UntypedDataSet), copied from a public GitHub repository")
        zone.mark_complete("70072NED", fid, source="statline_csv", origin=f"shared/data/{rel}", rows=rows,
                           fetched_at=BUNDLE_DATE, vintage=vintage)

    # 03759NED: the StatLine metadata download (TableInfos, DataProperties, every RegioS code with its title).
    fid = "bundle-03759NED-statline-metadata"
    rel = "api-samples/v3_statline_csv_exports/03759ned_metadata.csv"
    _land(zone, shared, rel, fetch_id=fid, source="statline_csv", table_id="03759NED", entity="metadata",
          media_type="text/csv", origin=f"shared/data/{rel}", vintage="2019-05-17T02:00:00", compress=True,
          table_modified="2019-05-17T02:00:00", note="StatLine metadata download, no data rows")
    zone.mark_complete("03759NED", fid, source="statline_csv", origin=f"shared/data/{rel}", rows=0,
                       fetched_at=BUNDLE_DATE, vintage="2019-05-17T02:00:00")

    # 81578NED: establishments per COROP, already reshaped by a third party (processed).
    fid = "bundle-81578NED-stock-panel"
    rel = "cbs/81578NED_vestigingen_total_COROP_CR07-CR16_2015-2025_processed.csv"
    _land(zone, shared, rel, fetch_id=fid, source="derived_csv", table_id="81578NED", entity="stock_panel",
          media_type="text/csv", origin=f"shared/data/{rel}", rows=110,
          note="processed by a third party (zone_id, target_year, stock = all-SBI establishments on 1 January)")
    zone.mark_complete("81578NED", fid, source="derived_csv", origin=f"shared/data/{rel}", rows=110,
                       fetched_at=BUNDLE_DATE)
    # 2024 municipality -> COROP list (CBS "Gebieden in Nederland 2024", processed by woonstadrotterdam, MIT).
    fid = "bundle-GEBIEDEN2024-corop"
    rel = "regions/woonplaats_gemeente_corop_2024_woningwaardering.csv"
    _land(zone, shared, rel, fetch_id=fid, source="region_crosswalk", table_id="GEBIEDEN2024", entity="gemeente_corop",
          media_type="text/csv", origin=f"shared/data/{rel}", vintage="2024-11-13", compress=True,
          note="processed copy of CBS Gebieden/Woonplaatsen in Nederland 2024 (woonstadrotterdam/woningwaardering, "
               "MIT, commit 39a16cb9); codes without GM/CR prefix")
    zone.mark_complete("GEBIEDEN2024", fid, source="region_crosswalk", origin=f"shared/data/{rel}", rows=None,
                       fetched_at=BUNDLE_DATE, vintage="2024-11-13")
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
