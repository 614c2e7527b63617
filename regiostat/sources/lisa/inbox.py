"""LISA files arrive by hand in an inbox folder: each is checked on its own, a broken one is copied aside
to the quarantine folder with a note naming the file, row, column and rule, and the others still land."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

from regiostat.landing.zone import LandingZone
from regiostat.sources.lisa.errors import LisaFileError
from regiostat.sources.lisa.landing import land_lisa_file
from regiostat.sources.lisa.names import municipality_lookup

FILE_TYPES = {".csv", ".tsv", ".txt", ".xlsx"}


def inbox_files(folders: list[Path]) -> list[Path]:
    """The export files in the folders (those that exist), sorted by path."""
    return sorted(p for folder in folders if folder.is_dir() for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in FILE_TYPES)


def quarantine(path: Path, error: LisaFileError, quarantine_dir: Path) -> Path:
    """Copy a refused file aside with the reason; the inbox copy stays for the user to fix."""
    quarantine_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    target = quarantine_dir / f"{digest}-{path.name if not path.name.startswith('.') else 'file'}"
    shutil.copyfile(path, target)
    target.with_name(target.name + ".error.json").write_text(json.dumps(
        {"file": str(path), "rule": error.rule, "row": error.row, "column": error.column, "message": str(error)},
        indent=1))
    return target


def land_inbox(files: list[Path], zone: LandingZone, quarantine_dir: Path,
               log: Callable[[str], None] = print) -> dict[str, object]:
    """Land every good file, quarantine every broken one; the CBS code list is needed only when there are files."""
    landed, refused = [], []
    lookup = municipality_lookup(zone) if files else None
    for path in files:
        try:
            entry = land_lisa_file(zone, path, municipalities=lookup)
            landed.append({"file": path.name, "fetch_id": entry.fetch_id, "rows": entry.rows})
        except LisaFileError as exc:
            target = quarantine(path, exc, quarantine_dir)
            log(f"quarantined {path.name}: {exc}")
            refused.append({"file": path.name, "rule": exc.rule, "row": exc.row, "column": exc.column,
                            "message": str(exc), "quarantined_as": str(target)})
    return {"files_landed": len(landed), "files_quarantined": len(refused), "landed": landed,
            "quarantined": refused}
