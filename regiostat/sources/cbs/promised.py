"""How many rows a CBS table has, as the metadata landed with a fetch says (v4 Properties.ObservationCount,
v3 TableInfos.RecordCount): a fetch whose data pages hold none of them is an error of the fetch."""

from __future__ import annotations

import json

from regiostat.landing.zone import LandingEntry, LandingZone

_COUNTS = {"Properties": "ObservationCount", "TableInfos": "RecordCount"}


def promised_rows(zone: LandingZone, files: list[LandingEntry]) -> int | None:
    """The table's row count its landed metadata states, or None if the fetch has no such metadata."""
    for e in files:
        field = _COUNTS.get(e.entity)
        if field is None or e.media_type != "application/json":
            continue
        doc = json.loads(zone.read_bytes(e))
        record = doc["value"][0] if isinstance(doc.get("value"), list) and doc["value"] else doc
        count = record.get(field) if isinstance(record, dict) else None
        if isinstance(count, str) and count.strip().isdigit():
            count = int(count)
        if isinstance(count, int) and not isinstance(count, bool):
            return count
    return None
