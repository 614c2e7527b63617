"""What became of each fetch in the landing zone, kept as manifest rows (append-only, nothing deleted).

======== ======================================================================================
state    meaning
======== ======================================================================================
landing  files landed, no ``_complete`` row: in progress, interrupted (resumed next run), or
         refused at its end (fewer rows than announced: the next run fetches anew)
complete its ``_complete`` row is written: read by the raw step
failed   complete, but it failed its raw checks (its format, its data pages, a key given twice):
         kept for inspection and never read, so the table's earlier good fetch stays in use and
         the next run is not poisoned by it; reported on every build until it is retired
retired  an operator retired it (``regiostat retire-fetch``): kept, never read, not reported
======== ======================================================================================
"""

from __future__ import annotations

from dataclasses import dataclass

from regiostat.landing.zone import (
    COMPLETE_ENTITY,
    FAILED_ENTITY,
    FINISHED_ENTITIES,
    RETIRED_ENTITY,
    LandingEntry,
    LandingError,
    LandingZone,
)

LANDING, COMPLETE, FAILED, RETIRED = "landing", "complete", "failed", "retired"


@dataclass(frozen=True)
class FetchState:
    table_id: str
    fetch_id: str
    source: str
    state: str  # landing | complete | failed | retired
    files: int
    rows: int | None  # as its _complete row says (None while landing)
    landed_at: str  # when its first file was landed
    changed_at: str  # when it reached its state
    reason: str | None  # why it failed or was retired


def fetch_states(zone: LandingZone, table_id: str | None = None) -> list[FetchState]:
    """Every fetch (of one table), in the order its first row was landed."""
    rows: dict[str, list[LandingEntry]] = {}
    for e in zone.entries() if table_id is None else zone.rows_of_tables([table_id]):
        rows.setdefault(e.fetch_id, []).append(e)
    return [_state(fetch_rows) for fetch_rows in rows.values()]


def _state(rows: list[LandingEntry]) -> FetchState:
    by = {entity: next((e for e in rows if e.entity == entity), None) for entity in FINISHED_ENTITIES}
    files = [e for e in rows if e.entity not in FINISHED_ENTITIES]
    # failed and retired are final: a later _complete row (the same bytes landed again) does not revive a fetch
    last = by[RETIRED_ENTITY] or by[FAILED_ENTITY] or by[COMPLETE_ENTITY]
    states = {RETIRED_ENTITY: RETIRED, FAILED_ENTITY: FAILED, COMPLETE_ENTITY: COMPLETE}
    state = states[last.entity] if last else LANDING
    first = rows[0]
    return FetchState(table_id=first.table_id, fetch_id=first.fetch_id, source=first.source, state=state,
                      files=len(files), rows=by[COMPLETE_ENTITY].rows if by[COMPLETE_ENTITY] else None,
                      landed_at=first.fetched_at, changed_at=(last or rows[-1]).fetched_at,
                      reason=last.note if last is not None and last.entity != COMPLETE_ENTITY else None)


def mark_failed(zone: LandingZone, fetch_id: str, reason: str) -> LandingEntry:
    """A complete fetch failed its raw checks: it is kept, never read again, and reported until retired."""
    rows = zone.rows_of_fetch(fetch_id)
    done = next((e for e in rows if e.entity == COMPLETE_ENTITY), None)
    if done is None:
        raise LandingError(f"fetch {fetch_id} is not a complete fetch in {zone.root}; only those can fail their "
                           "raw checks")
    state = _state(rows)
    if state.state in (FAILED, RETIRED):
        return next(e for e in rows if e.entity in (FAILED_ENTITY, RETIRED_ENTITY))
    return zone.mark_fetch(done, FAILED_ENTITY, reason)


def retire(zone: LandingZone, fetch_id: str, reason: str = "retired by an operator") -> LandingEntry:
    """Retire a failed fetch (or one that never completed): kept on disk, never read, no longer reported. A
    complete fetch in use is refused: retiring it would silently take its rows out of the warehouse."""
    rows = zone.rows_of_fetch(fetch_id)
    if not rows:
        raise LandingError(f"no fetch {fetch_id!r} in {zone.manifest_path} (regiostat fetches lists them)")
    state = _state(rows)
    if state.state == COMPLETE:
        raise LandingError(f"fetch {fetch_id} ({state.table_id}) is complete and in use; only a failed fetch or one "
                           "that never completed is retired")
    if state.state == RETIRED:
        return next(e for e in rows if e.entity == RETIRED_ENTITY)
    return zone.mark_fetch(rows[0], RETIRED_ENTITY, reason)


def holds_rows(fetch: LandingEntry | FetchState) -> bool:
    """Whether a complete fetch holds rows (or does not say): a metadata-only fetch is no table to fall back on."""
    return fetch.rows is None or fetch.rows > 0


def failed_in_use_instead(zone: LandingZone, table_ids: tuple[str, ...]) -> list[tuple[FetchState, str | None]]:
    """Each failed fetch of these tables with the fetch used in its place (the newest complete one holding rows, or
    None): what a build reports as a warning until the failed fetch is retired. One pass over the manifest."""
    wanted = {t.upper() for t in table_ids}
    states = [s for s in fetch_states(zone) if s.table_id in wanted]
    in_use = {s.table_id: s.fetch_id for s in states if s.state == COMPLETE and holds_rows(s)}  # the newest wins
    return [(s, in_use.get(s.table_id)) for s in states if s.state == FAILED]


def failed_by_table(zone: LandingZone) -> dict[str, list[FetchState]]:
    """The failed fetches of every table, oldest first: one pass over the manifest."""
    out: dict[str, list[FetchState]] = {}
    for s in fetch_states(zone):
        if s.state == FAILED:
            out.setdefault(s.table_id, []).append(s)
    return out


def set_aside(zone: LandingZone, table_ids: tuple[str, ...]) -> list[dict[str, str | None]]:
    """The failed fetches of these tables as rows (table, failed fetch, why, fetch in use instead or None)."""
    return [{"table": s.table_id, "failed_fetch": s.fetch_id, "reason": s.reason, "in_use_instead": instead}
            for s, instead in failed_in_use_instead(zone, table_ids)]


def set_aside_line(rows: list[dict[str, str | None]], shown: int = 3) -> str:
    """One line for a build's summary: which failed fetches are kept and never read, and what is used instead."""
    parts = []
    for r in rows[:shown]:
        instead = f"fetch {r['in_use_instead']} in use" if r["in_use_instead"] else "no fetch in use, built without it"
        why = " ".join(str(r["reason"] or "").split())
        why = why if len(why) <= 160 else why[:157] + "..."
        parts.append(f"{r['table']} fetch {r['failed_fetch']} -> {instead} ({why})")
    more = f"; and {len(rows) - shown} more" if len(rows) > shown else ""
    return (f"fetches set aside: {len(rows)} failed fetch(es) kept in the landing zone and never read: "
            f"{'; '.join(parts)}{more}. `regiostat fetches` lists them, `regiostat retire-fetch FETCH` retires one")



def describe(states: list[FetchState]) -> str:
    """The fetches as a table for people (``regiostat fetches``)."""
    if not states:
        return "no fetches landed"
    head = ("table", "fetch", "state", "source", "files", "rows", "landed at", "why")
    lines = [(s.table_id, s.fetch_id, s.state, s.source, str(s.files), "" if s.rows is None else f"{s.rows:,}",
              s.landed_at, s.reason or "") for s in states]
    widths = [max(len(r[i]) for r in [head, *lines]) for i in range(len(head) - 1)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)) + ("  " + r[-1] if r[-1]
                                                                                            else "")
                     for r in [head, *lines]).rstrip()
