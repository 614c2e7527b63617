"""LISA files arrive by hand in an inbox folder: each is checked on its own, a broken one is copied aside
to the quarantine folder with a note naming the file and every problem (row, column, rule), and the others
still land.

The inbox is read as a careless or hostile folder would be: a symbolic link is never followed (it could
point anywhere, e.g. outside the inbox), and anything that is not a regular file (a FIFO, a device) is
refused without being opened for reading; both are reported, not quarantined (there is nothing of
theirs to copy). A file whose bytes were quarantined before (same sha256) is not read again: it is
reported with the reason it was quarantined for, until it is fixed or removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from regiostat.landing.zone import LandingZone
from regiostat.sources.lisa.errors import LisaFileError
from regiostat.sources.lisa.landing import land_lisa_content, read_regular_file
from regiostat.sources.lisa.names import municipality_lookup

FILE_TYPES = {".csv", ".tsv", ".txt", ".xlsx"}


def inbox_files(folders: list[Path]) -> list[Path]:
    """The export files in the folders (those that exist), sorted by path: regular files, and the symbolic
    links and special files landing refuses (so they are reported). Links that lead nowhere are left out:
    they hold nothing, and the inbox sensor could not even stat them."""
    return sorted(p for folder in folders if folder.is_dir() for p in folder.iterdir()
                  if p.suffix.lower() in FILE_TYPES and (p.is_symlink() or not p.is_dir()) and p.exists())


def quarantine(name: str, content: bytes, error: LisaFileError, quarantine_dir: Path, *, source: str) -> Path:
    """Copy the refused bytes aside with the reasons; the inbox copy stays for the user to fix."""
    quarantine_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(content).hexdigest()
    target = quarantine_dir / f"{digest[:12]}-{name if not name.startswith('.') else 'file'}"
    target.write_bytes(content)
    target.with_name(target.name + ".error.json").write_text(json.dumps(
        {"file": source, "sha256": digest, "rule": error.rule, "row": error.row, "column": error.column,
         "message": str(error), "problems": error.as_records()}, indent=1))
    return target


def quarantined_before(digest: str, quarantine_dir: Path) -> dict | None:
    """The note of an earlier quarantine of exactly these bytes, if there is one."""
    for note in sorted(quarantine_dir.glob(f"{digest[:12]}-*.error.json")) if quarantine_dir.is_dir() else ():
        with contextlib.suppress(OSError, ValueError):
            record = json.loads(note.read_text())
            copy = note.with_name(note.name.removesuffix(".error.json"))
            same = record.get("sha256") == digest or (
                "sha256" not in record and hashlib.sha256(copy.read_bytes()).hexdigest() == digest)
            if same:
                return {**record, "quarantined_as": str(copy)}
    return None


def land_inbox(files: list[Path], zone: LandingZone, quarantine_dir: Path,
               log: Callable[[str], None] = print) -> dict[str, object]:
    """Land every good file, quarantine every broken one, refuse links and special files, skip files
    quarantined before; the CBS code list is needed only when there are files."""
    landed, quarantined, refused, skipped = [], [], [], []
    lookup = municipality_lookup(zone) if files else None
    for path in files:
        try:
            content = read_regular_file(path)
        except LisaFileError as exc:
            log(f"refused {path.name}: {exc}")
            refused.append({"file": path.name, "rule": exc.rule, "message": str(exc)})
            continue
        digest = hashlib.sha256(content).hexdigest()
        earlier = quarantined_before(digest, quarantine_dir)
        if earlier is not None:
            log(f"skipped {path.name}: quarantined before as {earlier['quarantined_as']} (same content): "
                f"{earlier.get('message')}")
            skipped.append({"file": path.name, "rule": earlier.get("rule"),
                            "quarantined_as": earlier["quarantined_as"]})
            continue
        try:
            entry = land_lisa_content(zone, path.name, content, municipalities=lookup)
            landed.append({"file": path.name, "fetch_id": entry.fetch_id, "rows": entry.rows})
        except LisaFileError as exc:
            target = quarantine(path.name, content, exc, quarantine_dir, source=str(path))
            log(f"quarantined {path.name}: {exc}")
            quarantined.append({"file": path.name, "rule": exc.rule, "row": exc.row, "column": exc.column,
                                "problems": len(exc.problems), "message": str(exc), "quarantined_as": str(target)})
    return {"files_landed": len(landed), "files_quarantined": len(quarantined), "files_refused": len(refused),
            "files_already_quarantined": len(skipped), "landed": landed, "quarantined": quarantined,
            "refused": refused, "already_quarantined": skipped}


