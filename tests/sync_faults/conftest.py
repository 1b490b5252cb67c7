"""Fixtures of the sync fault tests: fresh prepared databases (a SQLite file, or a new PostgreSQL database
when TERRAIN_TEST_POSTGRES_URL is set) and real server processes, all cleaned up after the test.

These tests do not use ``db_url``: they start their own processes and run once, with the ``sync_faults``
marker (``pytest -m "not sync_faults"`` skips them); the PostgreSQL variants skip with the reason shown
when TERRAIN_TEST_POSTGRES_URL is unset."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import create_pg_database, drop_pg_database
from sync_faults.harness import Live, Prepared, prepare


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sync_faults: the sync protocol under faults, against real server processes (run once)"
    )


MakeDatabase = Callable[..., Prepared]
StartServer = Callable[..., Live]


@pytest.fixture
def make_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeDatabase]:
    """``make_database(backend, name, devices=1)``: a new database, migrated, with sites, field
    workers (one device token each) and diagnostic_familles published."""
    created: list[tuple[str, str]] = []

    def make(backend: str, name: str, *, devices: int = 1) -> Prepared:
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path / name}.db"
        else:
            base: str = request.getfixturevalue("pg_base_url")  # skips, with its reason, when unset
            database = (
                f"terrain_faults_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:8]}"
            )
            url = create_pg_database(base, database)
            created.append((base, database))
        return prepare(url, devices=devices)

    yield make
    for base, database in created:
        drop_pg_database(base, database)


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[StartServer]:
    """``start_server(url, name)``: a ``terrain serve`` process on that database, stopped (or found
    already killed) after the test."""
    running: list[Live] = []

    def start(url: str, name: str = "server") -> Live:
        server = Live.start(url, tmp_path / "servers", name=f"{name}-{len(running)}")
        running.append(server)
        return server

    yield start
    for server in running:
        server.stop()
