"""Landing several feeds of one source in one step, a bounded number at a time.

A source with many feeds (1,000 CBS tables) lands them from one step: at most ``concurrency`` feeds
are fetched at once (CBS asks to be asked politely; the default is 2), every feed is tried even when
another fails, and each outcome is kept with its feed. Warnings raised while fetching are collected
and handed back, so the caller logs them from its own thread.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from regiostat.sources.protocol import Feed, LandingContext, LandingReport, Source


@dataclass
class LandingOutcome:
    """What landing each feed did (its report), or why it failed (the error, naming table and URL)."""

    reports: dict[str, LandingReport] = field(default_factory=dict)
    errors: dict[str, Exception] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def land_feeds(source: Source, feeds: list[Feed], ctx: LandingContext, *, concurrency: int = 2,
               errors: tuple[type[Exception], ...] = (Exception,)) -> LandingOutcome:
    """Land every feed, at most ``concurrency`` at a time; an error of one feed does not stop the others."""
    outcome = LandingOutcome()
    lock = threading.Lock()

    def warn(message: str) -> None:
        with lock:
            outcome.warnings.append(message)

    def land_one(feed: Feed) -> None:
        try:
            report = source.land(feed, dataclasses.replace(ctx, log=warn))
        except errors as exc:
            with lock:
                outcome.errors[feed.name] = exc
            return
        with lock:
            outcome.reports[feed.name] = report

    _run(land_one, feeds, max(1, concurrency))
    return outcome


def _run(task: Callable[[Feed], None], feeds: list[Feed], workers: int) -> None:
    if workers == 1 or len(feeds) <= 1:
        for feed in feeds:
            task(feed)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="land") as pool:
        list(pool.map(task, feeds))
