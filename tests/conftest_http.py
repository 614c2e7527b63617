"""Pytest fixtures around the local CBS test server (load with ``pytest_plugins = ["tests.conftest_http"]``).

The client fixture records waits instead of sleeping and uses small timeouts, so fault tests
stay deterministic and fast.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from regiostat.sources.cbs.client import CbsClient
from tests.cbs_http_server import CbsTestServer

DEFAULT_DATA_DIR = Path(__file__).resolve().parent / "fixtures" / "cbs_recordings"


@pytest.fixture(scope="session")
def cbs_data_dir() -> Path:
    """The real recorded CBS responses shipped in tests/fixtures (REGIOSTAT_RECORDINGS overrides)."""
    path = Path(os.environ.get("REGIOSTAT_RECORDINGS", DEFAULT_DATA_DIR))
    assert (path / "api-samples" / "v4_datasets.cbs.nl").is_dir(), f"real CBS recordings missing in {path}"
    return path


@pytest.fixture
def cbs_server_factory(cbs_data_dir: Path) -> Iterator[Callable[..., CbsTestServer]]:
    """Start servers with options (v4_pages, feed_page_size, api_cell_limit); all stop at teardown."""
    servers: list[CbsTestServer] = []

    def start(**options: object) -> CbsTestServer:
        server = CbsTestServer(cbs_data_dir, **options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
    errors = [e for s in servers for e in s.errors]
    assert not errors, "the CBS test server itself failed:\n" + "\n".join(errors)


@pytest.fixture
def cbs_server(cbs_server_factory: Callable[..., CbsTestServer]) -> CbsTestServer:
    return cbs_server_factory()


@pytest.fixture
def sleeps() -> list[float]:
    """Every wait the client asked for, in order (nothing actually sleeps)."""
    return []


@pytest.fixture
def make_client(sleeps: list[float]) -> Callable[..., CbsClient]:
    """A client for a given server: exact backoff (no jitter), recorded sleeps, short timeouts."""

    def make(server: CbsTestServer, **options: object) -> CbsClient:
        settings: dict = dict(timeout=(2.0, 5.0), max_retries=3, backoff_base=0.5, backoff_max=30.0, jitter=0.0,
                              sleep=sleeps.append)
        settings.update(options)
        return CbsClient(server.endpoints, **settings)

    return make


@pytest.fixture
def cbs_client(cbs_server: CbsTestServer, make_client: Callable[..., CbsClient]) -> CbsClient:
    return make_client(cbs_server)
