"""Health check of the PUBLISHED warehouse, the file readers open (no Dagster needed).

``check_warehouse`` opens ``warehouse/regional.duckdb`` read-only (it never writes, never takes
the build lock) and answers the questions an operator or a monitoring probe asks:

* is it a readable DuckDB file written with the schema version this code expects, in the storage
  format DuckDB 1.x readers open;
* is it safe to open: no sidecar beside it (a dead writer's ``.wal``, which every new reader would
  replay), no process holding it open for writing, no hard link sharing its bytes with another name;
* does the version pointer name a kept version that is unchanged since publishing, and is the plain
  file a byte-for-byte copy of it;
* are the tables readers rely on there and non-empty (core.fact_observation, core.dim_region,
  core.dim_period and every mart);
* how old is the build (meta.build_info.built_at), against an optional limit;
* does every region and period code on a fact row exist in its dimension;
* how many earlier versions are kept for rollback.

Temporary candidates next to the file (left by a publish that was killed) are not the warehouse:
they never make it unhealthy, they are only mentioned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from regiostat.publish import sidecars, storage
from regiostat.publish.release import REQUIRED_TABLES, list_versions, stale_candidates, versions_dir
from regiostat.publish.versions import PointerError, pointer_path, read_catalog
from regiostat.warehouse import SCHEMA_VERSION, orphan_codes, present_tables, row_count

REQUIRED_CORE = tuple(t for t in REQUIRED_TABLES if t != "meta.build_info")  # build_info is checked on its own
_CLOCK_SKEW_SECONDS = 300  # a build stamped further in the future than this is suspect


@dataclass(frozen=True)
class Finding:
    """One line of the report. ``ok`` False makes the warehouse unhealthy; ``info`` lines never do."""

    check: str
    ok: bool
    detail: str
    info: bool = False

    @property
    def label(self) -> str:
        return "info" if self.info else ("ok" if self.ok else "FAIL")


@dataclass
class HealthReport:
    path: Path
    exists: bool
    findings: list[Finding] = field(default_factory=list)
    build_id: str | None = None
    built_at: datetime | None = None
    age_hours: float | None = None
    schema_version: int | None = None
    row_counts: dict[str, int] = field(default_factory=dict)
    versions_kept: int = 0

    @property
    def ok(self) -> bool:
        return self.exists and all(f.ok for f in self.findings)

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if not f.ok]

    def text(self) -> str:
        if not self.exists:
            return f"warehouse {self.path}: MISSING (no such file)"
        head = "HEALTHY" if self.ok else f"UNHEALTHY ({len(self.problems)} problem(s))"
        lines = [f"warehouse {self.path}: {head}"]
        if self.build_id is not None:
            lines.append(f"  build {self.build_id}")
        lines += [f"  {f.label:<4}  {f.check}: {f.detail}" for f in self.findings]
        return "\n".join(lines)


def check_warehouse(path: Path | str, *, expected_marts: Sequence[str], max_age_hours: float | None = None,
                    expected_schema_version: int = SCHEMA_VERSION) -> HealthReport:
    """Check the published warehouse at ``path``; never raises for an unhealthy file, reports it.

    ``expected_marts``: the mart names this code builds (``warehouse.mart_names``); each must be present.
    """
    path = Path(path)
    report = HealthReport(path=path, exists=path.is_file())
    if not report.exists:
        return report
    report.versions_kept = len(list_versions(path))
    report.findings += _file_findings(path)
    try:
        con = storage.attach_read_only(path)  # not duckdb.connect: that may hand back an instance opened earlier
    except duckdb.Error as exc:
        report.findings.append(Finding("readable", False, f"not a readable DuckDB file: {_one_line(exc)}"))
        return report
    try:
        _check(con, report, expected_marts=expected_marts, max_age_hours=max_age_hours,
               expected=expected_schema_version,
               now=datetime.now(UTC))
    except duckdb.Error as exc:  # a damaged file can fail any query; say so instead of crashing the probe
        report.findings.append(Finding("query", False, f"query failed: {_one_line(exc)}"))
    finally:
        con.close()
    report.findings.append(Finding("versions kept", True, f"{report.versions_kept} in {versions_dir(path)}"
                                   + ("" if report.versions_kept else " (nothing to roll back to)"), info=True))
    strays = stale_candidates(path)
    if strays:  # candidates of a publish that was killed: never read, only taking disk space
        size = sum(p.stat().st_size for p in strays if p.is_file())
        report.findings.append(Finding("stray publish candidates", True, f"{len(strays)} .tmp file(s), "
                                       f"{size / 1e6:.1f} MB, left by an interrupted publish; safe to delete "
                                       "when no run is active", info=True))
    return report


def _check(con: duckdb.DuckDBPyConnection, report: HealthReport, *, expected_marts: Sequence[str],
           max_age_hours: float | None, expected: int,
           now: datetime) -> None:
    present = present_tables(con)
    add = report.findings.append

    # schema version and build stamp
    if "meta.build_info" not in present:
        add(Finding("schema version", False, "meta.build_info is missing"))
    else:
        rows = con.execute("SELECT build_id, built_at, schema_version FROM meta.build_info").fetchall()
        if len(rows) != 1:
            add(Finding("schema version", False, f"meta.build_info has {len(rows)} rows, expected exactly 1"))
        else:
            report.build_id, report.built_at, report.schema_version = rows[0]
            add(Finding("schema version", report.schema_version == expected,
                        f"{report.schema_version} (this code expects {expected})"))
            add(_age(report, max_age_hours, now))

    # required tables, non-empty
    marts = sorted({f"marts.{m}" for m in expected_marts} | {t for t in present if t.startswith("marts.")})
    for table in (*REQUIRED_CORE, *marts):
        if table not in present:
            add(Finding(table, False, "missing"))
            continue
        rows = row_count(con, table)
        report.row_counts[table] = rows
        add(Finding(table, rows > 0, f"{rows:,} rows" if rows else "empty"))

    # referential integrity of the fact table
    if all(t in present for t in REQUIRED_CORE):
        orphans = orphan_codes(con)
        bad = [(dim, part.height, part["fact_rows"].sum(), part["code"].min())
               for dim in ("region", "period") if (part := orphans.filter(dimension=dim)).height]
        detail = ("every region and period code is in core.dim_region / core.dim_period" if not bad else
                  "; ".join(f"{codes} {dim} code(s) on {rows} fact row(s) not in core.dim_{dim} (e.g. {example!r})"
                            for dim, codes, rows, example in bad))
        add(Finding("fact codes in dimensions", not bad, detail))


def _file_findings(path: Path) -> list[Finding]:
    """Is the file safe for a reader to open, in a format DuckDB 1.x reads, and the copy the pointer names?"""
    found = []
    beside = sidecars.sidecars(path)
    found.append(Finding("no sidecar files", not beside, "none beside the file" if not beside else
                         "; ".join(sidecars.describe(p) for p in beside) + ": a process opened the published file "
                         "for writing; new readers replay its write-ahead log. The next publish moves them to "
                         "quarantine/ (or move them away when no process has the file open)"))
    writer = sidecars.writer_pid(path)
    if writer is not None:
        found.append(Finding("no writer", False, f"process {writer} holds the published file open for writing; "
                             "readers cannot open it and publishing is refused until it ends"))
    links = path.stat().st_nlink
    if links > 1:
        found.append(Finding("independent file", False, f"the file has {links} names (hard links): a process "
                             "writing to any of them changes all; the next publish writes an independent copy"))
    number = storage.storage_number(path)
    if number is not None:
        found.append(Finding("storage format", number == storage.STORAGE_NUMBER,
                             f"storage number {number}" + (f" ({storage.STORAGE_VERSION}): {storage.OLDEST_READER} "
                             "and later read it" if number == storage.STORAGE_NUMBER else
                             f", not {storage.STORAGE_NUMBER}: DuckDB 1.x readers refuse it; publish again")))
    return found + _pointer_findings(path)


def _pointer_findings(path: Path) -> list[Finding]:
    """The pointer regiostat.connect() follows: the version it names exists, is unchanged, and the plain file
    is a copy of it."""
    try:
        catalog = read_catalog(path)
    except PointerError as exc:
        return [Finding("version pointer", False, str(exc))]
    if catalog is None or catalog.current is None:
        return [Finding("version pointer", True, f"no {pointer_path(path).name} (published by a regiostat "
                        "from before pointers); regiostat.connect() opens the plain file until the next "
                        "publish", info=True)]
    record, version = catalog.record(catalog.current), versions_dir(path) / catalog.current
    if record is None or not version.is_file():
        return [Finding("version pointer", False, f"names {catalog.current}, which is "
                        + ("missing from versions/" if record else "missing from its own list of versions"))]
    found = [Finding("version pointer", True, f"current version {version.name} (build {record.build_id})")]
    if storage.sha256_file(version) != record.sha256:
        found.append(Finding("version unchanged", False, f"{version.name} changed after it was published (sha256 "
                             "differs from the pointer's); roll back to another version or publish again"))
    beside = sidecars.sidecars(version)
    if beside:
        found.append(Finding("no sidecar beside the version", False, "; ".join(sidecars.describe(p) for p in beside)
                             + f": a process opened {version.name} for writing"))
    if storage.sha256_file(path) != record.sha256:
        found.append(Finding("plain file is the current version", False, f"{path.name} is not a byte-for-byte copy "
                             f"of {version.name}: it was written to after publishing, or a publish or rollback "
                             f"was interrupted; `regiostat rollback --version {version.name}` or the next publish "
                             "puts it back"))
    return found


def _age(report: HealthReport, max_age_hours: float | None, now: datetime) -> Finding:
    built = report.built_at
    if not isinstance(built, datetime):
        return Finding("build age", False, f"built_at is {built!r}, not a timestamp")
    built_utc = built.replace(tzinfo=UTC) if built.tzinfo is None else built.astimezone(UTC)
    seconds = (now.astimezone(UTC) - built_utc).total_seconds()
    report.age_hours = seconds / 3600
    when = built_utc.strftime("%Y-%m-%d %H:%M:%S UTC")
    if seconds < -_CLOCK_SKEW_SECONDS:
        return Finding("build age", False, f"built {when}, {-report.age_hours:.1f} h in the future (clock skew?)")
    limit = "" if max_age_hours is None else f"; limit {max_age_hours:g} h"
    ok = max_age_hours is None or report.age_hours <= max_age_hours
    return Finding("build age", ok, f"built {when}, {max(report.age_hours, 0):.1f} h ago{limit}"
                   + ("" if ok else " (too old)"))


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]
