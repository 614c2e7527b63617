"""The lines a build ends with: one fact a person should know about the run on each line, read from the run's
events on the instance and from the published warehouse. To report one more fact, add a function to ``LINES``."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence

import dagster as dg

from pipelines.progress import step_label
from pipelines.resources import RegiostatSettings


def summary_lines(instance: dg.DagsterInstance, run_id: str, settings: RegiostatSettings) -> list[str]:
    logs = instance.all_logs(run_id)
    return [line(logs, settings) for line in LINES]


def _warnings(logs: Sequence, settings: RegiostatSettings) -> str:
    """Warnings the steps logged and warning checks that failed, counted by step (README: the expected ones)."""
    by_step = Counter(step_label(e.step_key) if e.step_key else "the run" for e in logs
                      if e.dagster_event is None and e.level >= logging.WARNING)
    for check in _events(logs, "ASSET_CHECK_EVALUATION"):
        data = check.event_specific_data
        if not data.passed and data.severity == dg.AssetCheckSeverity.WARN:
            by_step[f"check {data.asset_key.to_user_string()} {data.check_name}"] += 1
    detail = ", ".join(f"{n} from {step}" for step, n in sorted(by_step.items(), key=lambda kv: (-kv[1], kv[0])))
    return f"warnings: {sum(by_step.values())}" + (f" ({detail})" if detail else "")


def _quarantined(logs: Sequence, settings: RegiostatSettings) -> str:
    """Files a landing step refused and copied aside, each with a note naming file, row, column and rule."""
    count = 0
    for event in _events(logs, "ASSET_MATERIALIZATION"):
        value = event.event_specific_data.materialization.metadata.get("files_quarantined")
        count += int(value.value) if value is not None else 0
    return f"quarantined files: {count}" + (f" (in {settings.quarantine_dir})" if count else "")


def _contradicted(logs: Sequence, settings: RegiostatSettings) -> str:
    """Claims of the documents the published figures contradict (reconcile.verdicts of the published warehouse)."""
    import regiostat

    try:
        con = regiostat.connect(settings.publish_path)
    except FileNotFoundError:
        return "contradicted claims: none known yet (nothing is published)"
    try:
        contradicted, claims = con.execute(
            "SELECT count(*) FILTER (WHERE verdict = 'contradicted'), count(*) FROM reconcile.verdicts").fetchone()
    finally:
        con.close()
    return f"contradicted claims: {contradicted} of {claims} (reconcile.verdicts)"


def _events(logs: Sequence, kind: str) -> list:
    return [e.dagster_event for e in logs if e.dagster_event is not None and e.dagster_event.event_type_value == kind]


LINES: list[Callable[[Sequence, RegiostatSettings], str]] = [_warnings, _quarantined, _contradicted]
