"""What `regiostat build` prints while it runs: a line as each step starts, and under it what the step says (its
warnings, on stderr; in live mode each table and data page as it lands). It listens to the run's own events on
the instance, so it shows what the Dagster UI shows, without Dagster's log format."""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

import dagster as dg

_DAGSTER_SKIP = "Skipping step "  # Dagster's own message for each skipped step
_RUN_ENDS = (dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.RUN_FAILURE, dg.DagsterEventType.RUN_CANCELED)


def step_label(step_key: str) -> str:
    """``marts__regional_profile__table_schemas`` -> ``marts/regional_profile/table_schemas``."""
    return step_key.replace("__", "/")


class Progress:
    """An event listener (``instance.add_event_listener(run_id, Progress(...))``) that prints as the run goes."""

    def __init__(self, instance: dg.DagsterInstance, run_id: str, out: TextIO | None = None,
                 err: TextIO | None = None):
        self.instance, self.run_id, self.out, self.err = instance, run_id, out, err  # None: sys.stdout/stderr now
        self.started_at = time.perf_counter()
        self.steps = 0
        self.skipped = 0  # said in one line, not one per step: after a no-op landing that is nearly every step
        self.planned: int | None = None

    def __call__(self, entry) -> None:
        event = entry.dagster_event
        if event is None:  # a message: a step's (or a resource's) warning, or a step's progress
            message = " ".join(entry.user_message.split())
            if entry.level >= logging.WARNING:
                self._print(f"         warning: {message}", self.err or sys.stderr)
            elif entry.step_key and entry.level >= logging.INFO and not message.startswith(_DAGSTER_SKIP):
                self._print(f"         {message}")
        elif event.event_type == dg.DagsterEventType.STEP_SKIPPED:
            self.skipped += 1
        elif event.event_type == dg.DagsterEventType.STEP_START:
            self._say_skipped()
            self.steps += 1
            self._print(f"[{self.steps:>2}/{self._planned()} {time.perf_counter() - self.started_at:5.1f} s] "
                        f"{step_label(event.step_key)}")
        elif event.event_type == dg.DagsterEventType.RUN_START:
            self._print(f"run {self.run_id} of {event.job_name}: {self._planned()} step(s) planned")
        elif event.event_type in _RUN_ENDS:
            self._say_skipped()

    def _say_skipped(self) -> None:
        if self.skipped:
            self._print(f"         {self.skipped} step(s) skipped: nothing they read changed")
            self.skipped = 0

    def _planned(self) -> int | str:
        """Steps in the run's plan (some are skipped when nothing changed upstream)."""
        if self.planned is None:
            run = self.instance.get_run_by_id(self.run_id)
            snapshot = run and run.execution_plan_snapshot_id and \
                self.instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
            self.planned = len(snapshot.steps) if snapshot else 0
        return self.planned or "?"

    def _print(self, line: str, stream: TextIO | None = None) -> None:
        print(line, file=stream or self.out or sys.stdout, flush=True)  # sys.stdout as it is now (tests capture it)
