"""The shipped municipal boundary files (data/geo) and the choice of one for a page's map.

Each TopoJSON file goes into the site ONCE as a small script (``static/geo/<name>.js`` assigning the
topology to ``window.REGIOSTAT_GEO``): browsers refuse fetch() of JSON over file://, a script tag
loads everywhere, and pages stay small because they carry only codes and values.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ATTRIBUTION = "Grenzen: CBS/PDOK (gebiedsindelingen), vereenvoudigd door cartomap/nl"
PATTERN = "gemeente_*.topojson"


@dataclass(frozen=True)
class BoundaryFile:
    """One boundary file: its TopoJSON object name (also its key in the site) and the codes it holds."""

    name: str
    year: int
    path: Path
    codes: frozenset[str]


def load_boundaries(geo_dir: Path) -> list[BoundaryFile]:
    """Every municipal boundary file, newest first; none when the folder is missing (maps are left out)."""
    files = []
    for path in sorted(geo_dir.glob(PATTERN)) if geo_dir.is_dir() else []:
        topology = json.loads(path.read_text(encoding="utf-8"))
        name = path.stem
        geometries = topology["objects"][name]["geometries"]
        codes = frozenset(g["properties"]["statcode"] for g in geometries)
        files.append(BoundaryFile(name=name, year=int(name.rsplit("_", 1)[1]), path=path, codes=codes))
    return sorted(files, key=lambda f: f.year, reverse=True)


def best_boundaries(files: Iterable[BoundaryFile], wanted: Iterable[str]) -> BoundaryFile | None:
    """The file holding most of the wanted municipalities (the newest on a tie), None if none holds any."""
    wanted = set(wanted)
    best, best_count = None, 0
    for candidate in files:  # newest first: a later file wins only with strictly more codes
        count = len(wanted & candidate.codes)
        if count > best_count:
            best, best_count = candidate, count
    return best


def write_geo_script(boundary: BoundaryFile, out_dir: Path) -> Path:
    """static/geo/<name>.js: the topology, unchanged, as a script every page with this map loads."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{boundary.name}.js"
    topology = boundary.path.read_text(encoding="utf-8").strip()
    target.write_text("window.REGIOSTAT_GEO = window.REGIOSTAT_GEO || {};\n"
                      f"window.REGIOSTAT_GEO[{json.dumps(boundary.name)}] = {topology};\n", encoding="utf-8")
    return target
