"""A landed LISA export in the common raw shape: one observation per municipality, year, measure and sector.

Municipality names are resolved to CBS codes when the file is read, so ``region_raw`` holds the code.
A sector row's dimensions are its SBI 2008 section (where the label names one) and its label as a
code: ``SbiSection=C;Sector=industrie``; the label as written is the code's title in
raw.dimension_codes. Every row keeps LISA's reference date (1 April of its year) and the attribution
"Bron: LISA <jaar>" that publication requires.
"""

from __future__ import annotations

import polars as pl

from regiostat.landing.zone import LandingEntry, LandingZone
from regiostat.model.observations import (
    CODE_COLUMNS,
    MEASURE_COLUMNS,
    OBSERVATION_COLUMNS,
    OTHER_KIND,
    Capture,
    conform,
)
from regiostat.sources.lisa.landing import TABLE_ID
from regiostat.sources.lisa.names import municipality_lookup
from regiostat.sources.lisa.reader import LisaExport, read_lisa_export
from regiostat.sources.lisa.sectors import sector_code

SECTOR_DIMENSION, SECTION_DIMENSION = "Sector", "SbiSection"
# measure -> (title, what is counted); LISA counts whole jobs and establishments, so the unit is "aantal"
MEASURES = {
    "jobs_total": ("Banen totaal", "Jobs on 1 April: full-timers + part-timers + temps, incl. owners and "
                                   "self-employed."),
    "jobs_fulltime": ("Banen fulltime", "Jobs of 12 hours a week or more, 1 April."),
    "jobs_parttime": ("Banen parttime", "Jobs of less than 12 hours a week, 1 April."),
    "establishments_total": ("Vestigingen totaal", "Establishments on 1 April: locations where at least one "
                                                   "person works."),
    "jobs_sector": ("Banen per sector", "Jobs on 1 April in the establishments of one sector."),
}


def read_fetches(zone: LandingZone, fetches: list[LandingEntry]) -> list[Capture]:
    """Every complete LISA fetch read again from the landing zone, names resolved for the file's year."""
    if not fetches:
        return []
    lookup = municipality_lookup(zone)
    captures = []
    for done in fetches:
        for entry in zone.pages_of(done.fetch_id):
            export = read_lisa_export(zone.read_bytes(entry), entry.origin, municipalities=lookup)
            captures.append(export_capture(export, entry))
    return captures


def export_capture(export: LisaExport, entry: LandingEntry) -> Capture:
    obs = export.observations
    labels = sorted(set(obs["sector"].drop_nulls()))
    codes = {label: sector_code(label) for label in labels}
    sector = pl.col("sector").replace_strict(codes, default=None)
    dims = (pl.when(pl.col("sector").is_null()).then(pl.lit(""))
            .otherwise(pl.format(f"{SECTION_DIMENSION}={{}};{SECTOR_DIMENSION}={{}}",
                                 pl.col("sbi_section").fill_null(""), sector)))
    observations = obs.select(
        pl.lit(TABLE_ID).alias("table_id"), pl.lit(entry.fetch_id).alias("fetch_id"),
        pl.lit(entry.path).alias("source_path"), pl.col("source_row").cast(pl.Int64),
        pl.col("measure").alias("measure_code"), pl.col("region_code").alias("region_raw"),
        (pl.col("year").cast(pl.String) + "JJ00").alias("period_raw"), dims.alias("other_dims_raw"),
        pl.col("value").cast(pl.Int64).cast(pl.String).alias("value_raw"),
        pl.date(pl.col("year"), 4, 1).alias("reference_date"),  # LISA counts on 1 April
        pl.format("Bron: LISA {}", pl.col("year")).alias("attribution"))
    measures = pl.DataFrame([dict(table_id=TABLE_ID, fetch_id=entry.fetch_id, measure_code=m, measure_id=m,
                                  title=MEASURES[m][0], unit="aantal", decimals=0, description=MEASURES[m][1],
                                  metadata_origin="declared")
                             for m in sorted(set(obs["measure"]))], schema=MEASURE_COLUMNS)
    sector_codes = pl.DataFrame([dict(table_id=TABLE_ID, fetch_id=entry.fetch_id, dimension=SECTOR_DIMENSION,
                                      dimension_kind=OTHER_KIND, code_raw=codes[label], title=label)
                                 for label in labels], schema={c: CODE_COLUMNS[c] for c in (
                                     "table_id", "fetch_id", "dimension", "dimension_kind", "code_raw", "title")})
    return Capture(TABLE_ID, entry.fetch_id, entry.source, conform(observations, OBSERVATION_COLUMNS),
                   measures, conform(sector_codes, CODE_COLUMNS), [])
